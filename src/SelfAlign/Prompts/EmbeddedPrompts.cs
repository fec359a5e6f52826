namespace Dromedary.SelfAlign.Prompts;

/// <summary>
/// The meta prompts we ship, embedded in the assembly (each a Markdown header block ending in "### User", as
/// METHOD.md §6.1 describes the original's): the standard one trains stage 3 and is one of stage 4's two, the
/// concise one is stage 4's other, the verbose one is the default for chat and evaluation.
/// </summary>
public static class EmbeddedPrompts
{
    public const string Standard = "dromedary-training-prompt.txt";
    public const string Concise = "dromedary-concise-prompt.txt";
    public const string Verbose = "dromedary-verbose-prompt.txt";

    /// <summary>Stage 1a's request for 20 new tasks (METHOD.md §2.1; read raw, demonstrations follow).</summary>
    public const string SelfInstruct = "self-instruct-prompt.txt";

    /// <summary>Stage 1b's topic brainstorm; its one "{}" takes the question type.</summary>
    public const string TgrtTopics = "tgrt-topic-prompt.txt";

    /// <summary>Stage 1c's question generation; its two "{}" take the hint list and the example list.</summary>
    public const string TgrtQuestions = "tgrt-question-prompt.txt";

    /// <summary>Stage 4's generation prompt: answers as "Dromedary (extensive)" (METHOD.md §5.2); never used for training or chat.</summary>
    public const string Extensive = "dromedary-extensive-prompt.txt";

    /// <summary>The text of an embedded prompt file, with universal newlines.</summary>
    public static string Read(string fileName)
    {
        var name = $"{typeof(EmbeddedPrompts).Namespace}.{fileName}";
        using var stream = typeof(EmbeddedPrompts).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the embedded resource {name} is missing from the build");
        using var reader = new StreamReader(stream);
        return UniversalNewlines(reader.ReadToEnd());
    }

    /// <summary>A user's prompt file, read as the original reads its prompt files (Python text mode).</summary>
    public static string ReadFile(string path) => File.Exists(path)
        ? UniversalNewlines(File.ReadAllText(path))
        : throw new DromedaryException($"{path}: prompt file not found.");

    /// <summary>\r\n and \r read as \n, as Python's text mode does.</summary>
    private static string UniversalNewlines(string text) => text.Replace("\r\n", "\n").Replace('\r', '\n');
}
