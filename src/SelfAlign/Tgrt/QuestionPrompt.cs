using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Text;

namespace Dromedary.SelfAlign.Tgrt;

/// <summary>
/// TGRT question generation's prompt and parser (METHOD.md §2.4). The hint list names the demonstrations' type and
/// topic (items 1–5) and then the new ones (6–10), "i. type: …, topic: …" with "Questions" read as "Instructions";
/// the example list adds each demonstration's question ("…, instruction: …"). The template's two "{}" take
/// "\n" + hints and "\n" + examples, and a final "\n" leaves the model to write item 6.
/// </summary>
public static class QuestionPrompt
{
    public static class Rules
    {
        public const string LastLine = "last_line_dropped";
        public const string NoHint = "line_without_hint";
    }

    /// <summary>The question type as the hints and the kept records write it.</summary>
    public static string InstructionType(string questionType) => questionType.Replace("Questions", "Instructions", StringComparison.Ordinal);

    /// <summary>"i. type: …, topic: …" for the demonstrations then the new hints, 1-based.</summary>
    public static List<string> HintPrefixes(IReadOnlyList<TgrtSeed> demonstrations, IReadOnlyList<TypedTopic> hints) =>
        demonstrations.Select(d => new TypedTopic(d.Topic, d.QuestionType)).Concat(hints)
            .Select((hint, i) => $"{i + 1}. type: {InstructionType(hint.QuestionType)}, topic: {hint.Topic}")
            .ToList();

    public static string Build(string metaPrompt, IReadOnlyList<TgrtSeed> demonstrations, IReadOnlyList<TypedTopic> hints)
    {
        var hintList = string.Join("\n", HintPrefixes(demonstrations, hints));
        var examples = string.Join("\n", demonstrations.Select((d, i) =>
            $"{i + 1}. type: {InstructionType(d.QuestionType)}, topic: {d.Topic}, instruction: {d.Question}"));
        return PythonFormat.Apply(metaPrompt, "the question generation prompt", "\n" + hintList, "\n" + examples) + "\n";
    }

    /// <summary>Lines (the last dropped as truncated) that start with an expected hint prefix, as (topic, type, instruction).</summary>
    public static List<(TypedTopic Hint, string Instruction)> Parse(string completion, IReadOnlyList<TgrtSeed> demonstrations,
        IReadOnlyList<TypedTopic> hints, Runs.FilterStats stats)
    {
        var hintList = demonstrations.Select(d => new TypedTopic(d.Topic, d.QuestionType)).Concat(hints).ToList();
        var prefixes = HintPrefixes(demonstrations, hints);
        var lines = completion.Trim().Split('\n');
        stats.Add(Rules.LastLine);
        var found = new List<(TypedTopic, string)>();
        foreach (var line in lines[..^1])
        {
            var hint = prefixes.FindIndex(prefix => line.StartsWith(prefix, StringComparison.Ordinal));
            if (hint < 0)
            {
                stats.Add(Rules.NoHint);
                continue;
            }
            const string Marker = "instruction: ";
            var at = line.LastIndexOf(Marker, StringComparison.Ordinal);
            var instruction = (at < 0 ? line : line[(at + Marker.Length)..]).Trim();
            found.Add((hintList[hint] with { QuestionType = InstructionType(hintList[hint].QuestionType) }, instruction));
        }
        return found;
    }
}
