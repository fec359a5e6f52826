using System.Text.Json;
using Dromedary.Model.Generation;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Jobs;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.VerboseCloning;

/// <summary>
/// Stage 4's generation (METHOD.md §5.2), resumably: question k of the input file (1-based) is record "id": k of
/// raw.jsonl, appended with its instruction, input and completion as soon as it finishes. A rerun completes only
/// the ids not yet there, with the same per-id seed, so a killed run loses nothing and repeats nothing.
/// </summary>
public static class VerboseGeneration
{
    public const string IdField = "id";

    /// <summary>The first <paramref name="limit"/> questions (all when null) as prompts keyed by their position.</summary>
    public static IReadOnlyList<PromptRecord> Prompts(IReadOnlyList<Query> questions, string meta, int? limit) =>
        questions.Take(limit ?? questions.Count).Select((question, index) => new PromptRecord(
            (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            VerbosePrompt.Build(meta, question.Instruction, question.Input),
            JsonSerializer.SerializeToElement(new Dictionary<string, object>
            {
                [IdField] = index + 1, [RawAnswer.InstructionField] = question.Instruction, [RawAnswer.InputField] = question.Input,
            }))).ToArray();

    /// <summary>
    /// What is left to generate into <paramref name="rawPath"/>. Without <paramref name="resume"/> the file must not
    /// hold answers yet; with it, a line torn by a kill is repaired (said in <see cref="ResumeScan.Repair"/>).
    /// </summary>
    public static (IReadOnlyList<PromptRecord> Pending, ResumeScan Scan) Pending(IReadOnlyList<PromptRecord> prompts, string rawPath, bool resume)
    {
        if (!resume && File.Exists(rawPath) && new FileInfo(rawPath).Length > 0)
            throw new DromedaryException($"{rawPath} already holds answers; pass --resume to continue, or choose another --out folder.");
        var scan = JsonlLog.Scan(rawPath, IdField);
        return (CompletionJob.Pending(prompts, scan.Done), scan);
    }

    public static void Run(IReadOnlyList<PromptRecord> pending, string rawPath, ICompletionEngine engine, GenerationOptions options,
        IProgress<(int Done, int Total)> progress, CancellationToken cancel = default)
    {
        using var raw = JsonlLog.Open(rawPath, IdField);
        CompletionJob.Run(pending, raw, engine, options, progress, cancel);
    }
}
