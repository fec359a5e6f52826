using System.Text.Json;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Data;

/// <summary>
/// An instruction for stage 2 or stage 4 to answer, read from a JSON array or JSON lines of {"instruction", "input"?}
/// (the original's merged synthetic inputs, or any stage's records, kept or raw); other fields are ignored.
/// </summary>
public sealed record Query(string Instruction, string Input)
{
    public static IReadOnlyList<Query> Read(string path) =>
        JsonRecordFile.Read(path, allowArray: true, "instructions", Parse);

    private static Query? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        var instruction = JsonFields.String(record, "instruction", required: true, problems);
        var input = JsonFields.String(record, "input", required: false, problems) ?? "";
        return problems.Count == before ? new Query(instruction!, input) : null;
    }
}
