using System.Text.Json;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.VerboseCloning;

/// <summary>
/// A question for stage 4 to answer (METHOD.md §5.1: only "instruction" and "input" are read, so stage-2 records,
/// kept or raw, and plain instruction files all serve).
/// </summary>
public sealed record Instruction(string Text, string Input)
{
    /// <summary>A JSON array or JSON Lines of {"instruction": string, "input"?: string, …}; other fields are ignored.</summary>
    public static IReadOnlyList<Instruction> Read(string path) =>
        JsonRecordFile.Read(path, allowArray: true, "instructions ({\"instruction\": …, \"input\"?: …})", Parse);

    private static Instruction? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        var text = JsonFields.String(record, "instruction", required: true, problems);
        var input = JsonFields.String(record, "input", required: false, problems) ?? "";
        return problems.Count == before ? new Instruction(text!, input) : null;
    }
}
