using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dromedary.Model.Safetensors;
using Dromedary.SelfAlign.Prompts;

namespace Dromedary.SelfAlign.VerboseCloning;

/// <summary>
/// Stage 4's files in its run folder and the two steps after generation: the filter (METHOD.md §5.3) from
/// raw.jsonl to kept.jsonl and stats.json, and the context-distillation run (§5.4): a fresh LoRA on the base, each
/// answer framed by the concise (even example_id) or the standard (odd) prompt, cutoff 768.
/// </summary>
public static class VerboseCloneRun
{
    public const string RawFile = "raw.jsonl";
    public const string KeptFile = "kept.jsonl";
    public const string StatsFile = "stats.json";
    public const string AdapterFolder = "adapter";
    public const int Cutoff = 768;

    private static readonly JsonSerializerOptions Line = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Indented = new(Line) { WriteIndented = true };

    /// <summary>
    /// The original globs its two prompt files unsorted (METHOD.md §10.9); we fix the order as sorted names give it:
    /// concise first, so example_id mod 2 = 0 is concise and 1 is standard.
    /// </summary>
    public static TrainingTemplate Template() =>
        new([EmbeddedPrompts.Read(EmbeddedPrompts.Concise), EmbeddedPrompts.Read(EmbeddedPrompts.Standard)]);

    /// <summary>
    /// Filters every answer of <paramref name="rawPath"/> and writes the kept ones, numbered 1, 2, … in id order as
    /// example_id, to <paramref name="keptPath"/>, and the count of each rule to <paramref name="statsPath"/> (both
    /// atomically). Returns the counts: "answers", each rule's, and "kept".
    /// </summary>
    public static IReadOnlyDictionary<string, int> Filter(string rawPath, string keptPath, string statsPath)
    {
        var answers = RawAnswer.Read(rawPath);
        var counts = new Dictionary<string, int> { ["answers"] = answers.Count };
        var kept = new List<string>();
        foreach (var answer in answers)
        {
            var verdict = VerboseFilter.Apply(answer.Instruction, answer.Input, answer.Completion);
            foreach (var rule in verdict.Rules) counts[rule] = counts.GetValueOrDefault(rule) + 1;
            if (verdict.Output is not { } output) continue;
            kept.Add(JsonSerializer.Serialize(new JsonObject
            {
                ["instruction"] = answer.Instruction, ["input"] = answer.Input, ["output"] = output,
                ["example_id"] = kept.Count + 1, ["id"] = answer.Id,
            }, Line));
        }
        counts["kept"] = kept.Count;
        AtomicFile.Write(keptPath, System.Text.Encoding.UTF8.GetBytes(string.Concat(kept.Select(line => line + "\n"))));
        AtomicFile.Write(statsPath, JsonSerializer.SerializeToUtf8Bytes(counts, Indented));
        return counts;
    }
}
