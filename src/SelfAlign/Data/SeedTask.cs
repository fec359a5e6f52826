using System.Text.Json;
using Dromedary.Model;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Data;

/// <summary>
/// One seed task in the Self-Instruct format (METHOD.md §2.1): "instruction" and the first of "instances"'
/// "input"s are used; "id", "name", outputs and "is_classification" may be present and are ignored.
/// </summary>
public sealed record SeedTask(string Instruction, string Input)
{
    public static IReadOnlyList<SeedTask> Read(string path) =>
        JsonRecordFile.Read(path, allowArray: false, "seed tasks", Parse);

    public static IReadOnlyList<SeedTask> Read(Stream stream, string source) =>
        JsonRecordFile.Read(stream, source, allowArray: false, "seed tasks", Parse);

    private static SeedTask? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        var instruction = JsonFields.String(record, "instruction", required: true, problems);
        var input = "";
        if (record.TryGetProperty("instances", out var instances) && instances.ValueKind != JsonValueKind.Null)
        {
            if (instances.ValueKind != JsonValueKind.Array)
                problems.Add($"\"instances\" must be an array, not {JsonKinds.Describe(instances.ValueKind)}");
            else if (instances.GetArrayLength() > 0)
            {
                var first = instances[0];
                if (first.ValueKind != JsonValueKind.Object)
                    problems.Add($"\"instances\"[0] must be an object, not {JsonKinds.Describe(first.ValueKind)}");
                else input = JsonFields.String(first, "input", required: false, problems) ?? "";
            }
        }
        return problems.Count == before ? new SeedTask(instruction!, input) : null;
    }
}
