using System.Text.Json;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Jobs;

/// <summary>One prompt to complete: its key, its text, and the whole input record (carried into the output).</summary>
public sealed record PromptRecord(string Id, string Prompt, JsonElement Fields);

/// <summary>
/// Reads a prompts file: JSON Lines of {"id": string or number, "prompt": string, …any other fields}. Every bad
/// line (not JSON, no id, no prompt, an id seen before) is reported with file and line in one error.
/// </summary>
public static class PromptFile
{
    public const string IdField = "id";
    public const string PromptField = "prompt";

    public static IReadOnlyList<PromptRecord> Read(string path)
    {
        var records = JsonRecordFile.ReadLocated(path, allowArray: false, "prompt records ({\"id\": …, \"prompt\": …})", Parse);
        var firstLine = new Dictionary<string, int>();
        var problems = new List<string>();
        foreach (var (record, line) in records)
            if (!firstLine.TryAdd(record.Id, line))
                problems.Add($"{path}:{line}: duplicate id {JsonSerializer.Serialize(record.Id)}, first on line {firstLine[record.Id]}");
        if (problems.Count > 0) throw new DromedaryException(JsonRecordFile.Summary(path, problems));
        return records.Select(located => located.Record).ToArray();
    }

    private static PromptRecord? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        var id = RecordKey.Read(record, IdField, problems);
        var prompt = JsonFields.String(record, PromptField, required: true, problems);
        return problems.Count == before ? new PromptRecord(id!, prompt!, record.Clone()) : null;
    }
}
