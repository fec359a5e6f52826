using System.Text.Json;

namespace Dromedary.Model.Safetensors;

/// <summary>
/// model.safetensors.index.json, Hugging Face's map from tensor name to shard file. The index comes from the
/// model's download, so shard names are checked to stay inside the model folder.
/// </summary>
internal static class CheckpointIndex
{
    public const string FileName = "model.safetensors.index.json";

    /// <summary>The weight map, tensor name to shard file name.</summary>
    public static Dictionary<string, string> Read(string indexPath)
    {
        using var document = Parse(indexPath);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var weightMap)
            || weightMap.ValueKind != JsonValueKind.Object)
            throw new DromedaryException($"{indexPath}: the index must be a JSON object with a 'weight_map' object.");

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in weightMap.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new DromedaryException($"{indexPath}: weight_map entry for tensor '{entry.Name}' must be a file name string.");
            var shard = entry.Value.GetString()!;
            if (!IsPlainFileName(shard))
                throw new DromedaryException($"{indexPath}: tensor '{entry.Name}' maps to '{shard}', which is not a plain file name in the model folder.");
            if (!map.TryAdd(entry.Name, shard))
                throw new DromedaryException($"{indexPath}: tensor '{entry.Name}' appears twice in weight_map.");
        }
        if (map.Count == 0) throw new DromedaryException($"{indexPath}: weight_map is empty.");
        return map;
    }

    public static void Write(string directory, IReadOnlyDictionary<string, string> weightMap, long totalSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(totalSize);
        ArgumentOutOfRangeException.ThrowIfZero(weightMap.Count, nameof(weightMap));
        foreach (var shard in weightMap.Values)
            if (!IsPlainFileName(shard)) throw new ArgumentException($"'{shard}' is not a plain file name.", nameof(weightMap));

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", totalSize);
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (tensor, shard) in weightMap.OrderBy(e => e.Key, StringComparer.Ordinal))
                json.WriteString(tensor, shard);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        AtomicFile.Write(Path.Combine(directory, FileName), buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>True for a bare file name: no directories, no "..", not rooted.</summary>
    public static bool IsPlainFileName(string name) =>
        name.Length > 0 && name != "." && name != ".." && !Path.IsPathRooted(name)
        && name.IndexOfAny(['/', '\\']) < 0 && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0;

    private static JsonDocument Parse(string indexPath)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(indexPath));
        }
        catch (JsonException ex)
        {
            throw new DromedaryException($"{indexPath}: the index is not valid JSON: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DromedaryException($"{indexPath}: cannot read the index: {ex.Message}", ex);
        }
    }
}
