using System.Text.Json;
using Dromedary.Model;

namespace Dromedary.SelfAlign.Jobs;

/// <summary>
/// The key that names a record across runs of a resumable job: a string field, or a number field taken by its JSON
/// text (so 7 and "7" are the same key, and 7.0 is another).
/// </summary>
public static class RecordKey
{
    /// <summary>The key, or null with a problem when the field is missing or neither a string nor a number.</summary>
    public static string? Read(JsonElement record, string field, List<string> problems)
    {
        if (!record.TryGetProperty(field, out var value))
        {
            problems.Add($"missing \"{field}\"");
            return null;
        }
        switch (value.ValueKind)
        {
            case JsonValueKind.String: return value.GetString();
            case JsonValueKind.Number: return value.GetRawText();
            default:
                problems.Add($"\"{field}\" must be a string or a number, not {JsonKinds.Describe(value.ValueKind)}");
                return null;
        }
    }
}
