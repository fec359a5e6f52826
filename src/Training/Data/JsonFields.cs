using System.Text.Json;
using Dromedary.Model;

namespace Dromedary.Training.Data;

/// <summary>Typed reads of a record's fields that add a problem, instead of throwing, when a field is missing or mistyped.</summary>
public static class JsonFields
{
    /// <summary>A string field; null (with a problem when required) if absent, JSON null or not a string.</summary>
    public static string? String(JsonElement record, string name, bool required, List<string> problems)
    {
        if (!record.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required) problems.Add($"missing \"{name}\"");
            return null;
        }
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        problems.Add($"\"{name}\" must be a string, not {JsonKinds.Describe(value.ValueKind)}");
        return null;
    }

    /// <summary>An optional 32-bit integer field; null when absent or JSON null.</summary>
    public static int? Integer(JsonElement record, string name, List<string> problems)
    {
        if (!record.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)) return number;
        problems.Add($"\"{name}\" must be an integer, not {Describe(value)}");
        return null;
    }

    /// <summary>A required array of 32-bit integers.</summary>
    public static int[]? Integers(JsonElement record, string name, List<string> problems)
    {
        if (!record.TryGetProperty(name, out var value))
        {
            problems.Add($"missing \"{name}\"");
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"\"{name}\" must be an array of integers, not {JsonKinds.Describe(value.ValueKind)}");
            return null;
        }
        var numbers = new int[value.GetArrayLength()];
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out numbers[index]))
            {
                problems.Add($"\"{name}\"[{index}] must be an integer, not {Describe(item)}");
                return null;
            }
            index++;
        }
        return numbers;
    }

    /// <summary>A number is named by its text, so "3.5" or "1e10" shows why it is not an integer.</summary>
    private static string Describe(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetRawText() : JsonKinds.Describe(value.ValueKind);
}
