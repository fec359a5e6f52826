using System.Text.Json;

namespace Dromedary.Training.Data;

/// <summary>
/// Reads training records from a JSON array (the original's merged files) or JSON Lines: "instruction" and
/// "output" are required strings, "input" an optional string and "example_id" an optional integer; other fields
/// are ignored. Every bad record is reported with its file and line.
/// </summary>
public static class TrainingRecordReader
{
    public static IReadOnlyList<TrainingRecord> Read(string path) =>
        JsonRecordFile.Read(path, allowArray: true, "training records", Parse);

    private static TrainingRecord? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        var instruction = JsonFields.String(record, "instruction", required: true, problems);
        var input = JsonFields.String(record, "input", required: false, problems) ?? "";
        var output = JsonFields.String(record, "output", required: true, problems);
        var exampleId = JsonFields.Integer(record, "example_id", problems);
        return problems.Count == before ? new TrainingRecord(instruction!, input, output!, exampleId) : null;
    }
}
