using Dromedary.SelfAlign.Principles;

namespace Dromedary.SelfAlign.Data;

/// <summary>
/// The human-written inputs of stages 1 and 2: the user's file when a path is given, otherwise the one embedded in
/// the build as Dromedary.SelfAlign.Data.&lt;file&gt; (our own texts, in the original's formats).
/// </summary>
public static class SeedData
{
    public const string SeedTasksFile = "seed_tasks.jsonl";
    public const string TgrtSeedsFile = "tgrt_seeds.jsonl";
    /// <summary>Our principle-driven prompt: rules and exemplars in one file, as the original ships it.</summary>
    public const string AlignmentPromptFile = "self_align_prompt.txt";

    /// <summary>Strings that only a copy of our exemplars would contain: extra leak markers for that prompt.</summary>
    public const string BlacklistFile = "self_align_blacklist.txt";

    public const string IdentityFile = "identity.jsonl";

    public static IReadOnlyList<SeedTask> SeedTasks(string? path) =>
        path is null ? ReadEmbedded(SeedTasksFile, "--seed-tasks", SeedTask.Read) : SeedTask.Read(path);

    public static IReadOnlyList<TgrtSeed> TgrtSeeds(string? path) =>
        path is null ? ReadEmbedded(TgrtSeedsFile, "--tgrt-seeds", TgrtSeed.Read) : TgrtSeed.Read(path);

    public static IReadOnlyList<IdentityExample> Identity(string? path) =>
        path is null ? ReadEmbedded(IdentityFile, "--identity", IdentityExample.Read) : IdentityExample.Read(path);

    /// <summary>
    /// The stage-2 prompt: our embedded one when no file is given; else a principles file and an exemplars file,
    /// or the original's single file (rules and "## Examples" together) given as the principles alone.
    /// </summary>
    public static AlignmentPrompt Prompt(string? principlesPath, string? exemplarsPath)
    {
        if (principlesPath is null)
        {
            if (exemplarsPath is not null) throw new DromedaryException("--exemplars needs --principles: give the rules that go with your exemplars.");
            return AlignmentPrompt.Parse(ReadEmbedded(AlignmentPromptFile, "--principles", ReadText), ResourceName(AlignmentPromptFile), null, null);
        }
        var principles = ReadText(principlesPath);
        var bundled = exemplarsPath is null && principles.Contains("## Examples", StringComparison.Ordinal);
        if (bundled) return AlignmentPrompt.Parse(principles, principlesPath, null, null);
        if (exemplarsPath is null)
            throw new DromedaryException($"{principlesPath}: has no \"## Examples\" section; give the exemplars with --exemplars FILE.");
        return AlignmentPrompt.Parse(principles, principlesPath, ReadText(exemplarsPath), exemplarsPath);
    }

    /// <summary>The leak markers written for a prompt: ours for the embedded prompt, none for a user's own.</summary>
    public static IReadOnlyList<string> LeakMarkers(string? principlesPath) => principlesPath is not null ? [] :
        ReadEmbedded(BlacklistFile, "--leak-marker", ReadText).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public static string ResourceName(string file) => $"{typeof(SeedData).Namespace}.{file}";

    private static string ReadText(string path) => File.Exists(path)
        ? File.ReadAllText(path)
        : throw new DromedaryException($"{path}: not found.");

    private static string ReadText(Stream stream, string source)
    {
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static T ReadEmbedded<T>(string file, string option, Func<Stream, string, T> read)
    {
        var name = ResourceName(file);
        using var stream = typeof(SeedData).Assembly.GetManifestResourceStream(name)
            ?? throw new DromedaryException($"this build has no embedded {file} ({name}); give your own with {option} FILE.");
        return read(stream, name);
    }
}
