using System.Text.Json;
using System.Text.Unicode;

namespace Dromedary.Model.Safetensors;

/// <summary>
/// Parses and validates the JSON header of a safetensors file. Every check a hostile or truncated file could
/// fail is made here, so later reads through raw pointers stay inside the file.
/// </summary>
internal static class SafetensorsHeader
{
    private const string MetadataKey = "__metadata__";

    /// <param name="dataStart">Absolute offset of the data section (8 + header length).</param>
    /// <param name="dataLength">Bytes from dataStart to the end of the file.</param>
    public static (Dictionary<string, string> Metadata, TensorInfo[] Tensors) Parse(
        string path, byte[] json, long dataStart, long dataLength)
    {
        if (!Utf8.IsValid(json))
            throw FileError(path, "the header is not valid UTF-8; this is not a safetensors file or it is corrupt.");

        using var document = ParseJson(path, json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw FileError(path, $"the header must be a JSON object but is {JsonKinds.Describe(root.ValueKind)}.");

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new List<TensorInfo>();
        // JsonDocument keeps duplicate keys; a second entry for a name would silently shadow the first.
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in root.EnumerateObject())
        {
            if (!names.Add(entry.Name))
                throw FileError(path, entry.Name == MetadataKey
                    ? $"the header has two '{MetadataKey}' entries."
                    : $"tensor '{entry.Name}' appears twice in the header.");
            if (entry.Name == MetadataKey) metadata = ParseMetadata(path, entry.Value);
            else tensors.Add(ParseTensor(path, entry.Name, entry.Value, dataStart, dataLength));
        }

        var ordered = tensors.OrderBy(t => t.DataOffset).ThenBy(t => t.ByteLength).ToArray();
        CheckNoOverlap(path, ordered, dataStart);
        return (metadata, ordered);
    }

    private static JsonDocument ParseJson(string path, byte[] json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new DromedaryException($"{path}: the header is not valid JSON: {ex.Message}", ex);
        }
    }

    private static Dictionary<string, string> ParseMetadata(string path, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw FileError(path, $"'{MetadataKey}' must be an object of strings but is {JsonKinds.Describe(value.ValueKind)}.");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw FileError(path, $"'{MetadataKey}' must map names to strings, but '{item.Name}' is {JsonKinds.Describe(item.Value.ValueKind)}.");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw FileError(path, $"'{MetadataKey}' has two entries named '{item.Name}'.");
        }
        return metadata;
    }

    private static TensorInfo ParseTensor(string path, string name, JsonElement entry, long dataStart, long dataLength)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw TensorError(path, name, $"the entry must be an object with dtype, shape and data_offsets but is {JsonKinds.Describe(entry.ValueKind)}.");

        string? dtype = null;
        long[]? shape = null, offsets = null;
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in entry.EnumerateObject())
        {
            if (!fields.Add(field.Name)) throw TensorError(path, name, $"field '{field.Name}' appears twice.");
            switch (field.Name)
            {
                case "dtype":
                    dtype = field.Value.ValueKind == JsonValueKind.String
                        ? field.Value.GetString()
                        : throw TensorError(path, name, $"dtype must be a string but is {JsonKinds.Describe(field.Value.ValueKind)}.");
                    break;
                case "shape":
                    shape = ReadIntegers(field.Value)
                        ?? throw TensorError(path, name, $"shape must be an array of integers but is {Excerpt(field.Value)}.");
                    break;
                case "data_offsets":
                    offsets = ReadIntegers(field.Value) is [>= 0, >= 0] pair
                        ? pair
                        : throw TensorError(path, name, $"data_offsets must be two non-negative integers but are {Excerpt(field.Value)}.");
                    break;
            }
        }
        if (dtype is null) throw TensorError(path, name, "the entry has no dtype.");
        if (shape is null) throw TensorError(path, name, "the entry has no shape.");
        if (offsets is null) throw TensorError(path, name, "the entry has no data_offsets.");

        var type = SafetensorsDType.Parse(dtype) ?? throw TensorError(path, name,
            SafetensorsDType.IsKnownUnsupported(dtype)
                ? $"dtype {dtype} is not supported (supported: {SafetensorsDType.SupportedList})."
                : $"'{dtype}' is not a safetensors dtype (supported: {SafetensorsDType.SupportedList}).");
        if (shape.Any(d => d < 0))
            throw TensorError(path, name, $"shape {ShapeMath.Format(shape)} has a negative dimension.");

        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end)
            throw TensorError(path, name, $"data_offsets [{begin}, {end}] begin after they end.");
        var what = $"shape {ShapeMath.Format(shape)} × {dtype}";
        if (!ShapeMath.TryByteLength(shape, type, out var bytes))
            throw TensorError(path, name, $"{what} is over 2^63 bytes but data_offsets span {end - begin}.");
        if (bytes != end - begin)
            throw TensorError(path, name, $"{what} is {bytes} bytes but data_offsets span {end - begin}.");
        if (end > dataLength)
            throw TensorError(path, name, $"data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes); the file is truncated or corrupt.");

        return new TensorInfo(name, type, shape, dataStart + begin, bytes, path);
    }

    /// <summary>The array's elements as longs, or null if it is not an array of integers that fit a long.</summary>
    private static long[]? ReadIntegers(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array) return null;
        var result = new long[value.GetArrayLength()];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out result[i++])) return null;
        }
        return result;
    }

    /// <param name="ordered">Tensors sorted by offset, then length: an overlap always shows between neighbours.</param>
    private static void CheckNoOverlap(string path, TensorInfo[] ordered, long dataStart)
    {
        for (var i = 1; i < ordered.Length; i++)
        {
            var (a, b) = (ordered[i - 1], ordered[i]);
            if (b.DataOffset < a.DataOffset + a.ByteLength)
                throw FileError(path, $"tensors '{a.Name}' (data_offsets {Span(a, dataStart)}) and '{b.Name}' (data_offsets {Span(b, dataStart)}) overlap.");
        }
    }

    private static string Span(TensorInfo t, long dataStart) =>
        $"[{t.DataOffset - dataStart}, {t.DataOffset - dataStart + t.ByteLength}]";

    /// <summary>The value's JSON, cut short so a hostile header cannot flood the message.</summary>
    private static string Excerpt(JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length <= 80 ? text : text[..80] + "…";
    }

    private static DromedaryException FileError(string path, string message) => new($"{path}: {message}");

    private static DromedaryException TensorError(string path, string name, string message) =>
        new($"{path}: tensor '{name}': {message}");
}
