using System.Text.Json;
using Dromedary.SelfAlign.Jobs;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.VerboseCloning;

/// <summary>One generated verbose answer as raw.jsonl holds it: {"id", "instruction", "input", "completion", …}.</summary>
public sealed record RawAnswer(int Id, string Instruction, string Input, string Completion)
{
    public const string InstructionField = "instruction";
    public const string InputField = "input";

    /// <summary>The answers of a raw.jsonl, in id order (a batched engine appends them in the order they finish).</summary>
    public static IReadOnlyList<RawAnswer> Read(string path) =>
        JsonRecordFile.Read(path, allowArray: false, "verbose answers", Parse).OrderBy(answer => answer.Id).ToArray();

    private static RawAnswer? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        var id = JsonFields.Integer(record, VerboseGeneration.IdField, problems);
        if (id is null && problems.Count == before) problems.Add($"missing \"{VerboseGeneration.IdField}\"");
        var instruction = JsonFields.String(record, InstructionField, required: true, problems);
        var input = JsonFields.String(record, InputField, required: false, problems) ?? "";
        var completion = JsonFields.String(record, CompletionJob.CompletionField, required: true, problems);
        return problems.Count == before ? new RawAnswer(id!.Value, instruction!, input, completion!) : null;
    }
}
