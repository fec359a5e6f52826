using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Prompts;

/// <summary>
/// The Dromedary training text of METHOD.md §4.1: <c>{meta}\n{instruction}\n\n</c>, then <c>{input}\n\n</c> when
/// there is an input, then <c>### Dromedary\n{output}</c>. Everything up to and including the header is the masked
/// prompt; the output is the counted answer. With several meta prompts, record k uses meta prompt
/// example_id mod count, as the original's stage 4 does with its two.
/// </summary>
public sealed class TrainingTemplate : ITrainingFormatter
{
    private readonly string[] _metaPrompts;

    /// <param name="metaPrompts">Stripped of surrounding white space, as the original reads its prompt files.</param>
    public TrainingTemplate(IReadOnlyList<string> metaPrompts)
    {
        if (metaPrompts.Count == 0) throw new ArgumentException("at least one meta prompt is needed", nameof(metaPrompts));
        _metaPrompts = metaPrompts.Select(prompt => prompt.Trim()).ToArray();
    }

    public IReadOnlyList<string> MetaPrompts => _metaPrompts;

    /// <summary>The template with our default meta prompt.</summary>
    public static TrainingTemplate Default() => new([EmbeddedPrompts.Read(EmbeddedPrompts.Standard)]);

    /// <summary>The template with the user's meta prompt files, in the order given.</summary>
    public static TrainingTemplate FromFiles(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new DromedaryException("no meta prompt files given.");
        return new TrainingTemplate(paths.Select(EmbeddedPrompts.ReadFile).ToArray());
    }

    /// <summary>
    /// The meta prompt of a record: example_id mod count (never negative, as Python's %). A record without an id
    /// gets the first; the original would fail on it (METHOD.md §10.4).
    /// </summary>
    public string MetaPromptFor(int? exampleId)
    {
        var count = _metaPrompts.Length;
        return _metaPrompts[exampleId is { } id ? (id % count + count) % count : 0];
    }

    public (string Prompt, string Answer) Format(TrainingRecord record)
    {
        var input = record.Input.Length > 0 ? $"{record.Input}\n\n" : "";
        return ($"{MetaPromptFor(record.ExampleId)}\n{record.Instruction}\n\n{input}### Dromedary\n", record.Output);
    }
}
