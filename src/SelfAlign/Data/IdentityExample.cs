using System.Text.Json;
using Dromedary.Model;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Data;

/// <summary>
/// One identity question and answer (METHOD.md §3.3 "dummy identity data"), read from the original's FastChat
/// layout — a JSON array (or JSON lines) of {"id", "conversations": [{"from": "human", "value"}, {"from": "gpt",
/// "value"}, …]} of which the first human/gpt pair is used — or from {"instruction", "output"} records.
/// </summary>
public sealed record IdentityExample(string Question, string Answer)
{
    public static IReadOnlyList<IdentityExample> Read(string path) =>
        JsonRecordFile.Read(path, allowArray: true, "identity conversations", Parse);

    public static IReadOnlyList<IdentityExample> Read(Stream stream, string source) =>
        JsonRecordFile.Read(stream, source, allowArray: true, "identity conversations", Parse);

    private static IdentityExample? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        if (!record.TryGetProperty("conversations", out var turns))
        {
            var instruction = JsonFields.String(record, "instruction", required: true, problems);
            var output = JsonFields.String(record, "output", required: true, problems);
            return problems.Count == before ? new IdentityExample(instruction!, output!) : null;
        }
        if (turns.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"\"conversations\" must be an array, not {JsonKinds.Describe(turns.ValueKind)}");
            return null;
        }
        string? Turn(int index, string speaker)
        {
            if (turns.GetArrayLength() <= index)
            {
                problems.Add($"\"conversations\" needs a {speaker} turn at [{index}]");
                return null;
            }
            var turn = turns[index];
            if (turn.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"\"conversations\"[{index}] must be an object, not {JsonKinds.Describe(turn.ValueKind)}");
                return null;
            }
            var from = JsonFields.String(turn, "from", required: true, problems);
            var value = JsonFields.String(turn, "value", required: true, problems);
            if (from is not null && from != speaker) problems.Add($"\"conversations\"[{index}].from must be \"{speaker}\", not \"{from}\"");
            return value;
        }
        var question = Turn(0, "human");
        var answer = Turn(1, "gpt");
        return problems.Count == before ? new IdentityExample(question!, answer!) : null;
    }
}
