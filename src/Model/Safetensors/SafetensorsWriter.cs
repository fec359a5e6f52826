using System.Buffers.Binary;
using System.Text.Json;

namespace Dromedary.Model.Safetensors;

/// <summary>
/// Streams a safetensors file one tensor at a time, so converting a 130 GB model never holds more than one
/// tensor. The layout is fixed by the specs given up front; the file appears under its final name only on
/// Complete, and Dispose without Complete removes the partial file.
/// </summary>
public sealed class SafetensorsWriter : IDisposable
{
    private const int Alignment = 8;

    private readonly string _path;
    private readonly IReadOnlyList<TensorSpec> _tensors;
    private readonly long[] _byteLengths;
    private FileStream? _stream;
    private int _next;
    // Set once the temp file is renamed or deleted, so Dispose leaves the final file alone.
    private bool _done;

    public SafetensorsWriter(string path, IReadOnlyList<TensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        _path = path;
        _tensors = tensors;
        _byteLengths = new long[tensors.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Count; i++)
        {
            var spec = tensors[i];
            if (spec.Name.Length == 0 || spec.Name == "__metadata__" || !names.Add(spec.Name))
                throw new ArgumentException($"Tensor name '{spec.Name}' is empty, reserved or repeated.", nameof(tensors));
            if (spec.Shape.Any(d => d < 0) || !ShapeMath.TryByteLength(spec.Shape, spec.Type, out _byteLengths[i]))
                throw new ArgumentException($"Tensor '{spec.Name}' has shape {ShapeMath.Format(spec.Shape)}, with a negative dimension or over 2^63 bytes.", nameof(tensors));
        }

        var header = Header(tensors, _byteLengths, metadata);
        _stream = AtomicFile.Create(path);
        try
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            AtomicFile.Append(_stream, _path, prefix);
            AtomicFile.Append(_stream, _path, header);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Appends the next tensor's bytes; tensors must come in spec order, each exactly once.</summary>
    public void Write(string name, ReadOnlySpan<byte> data)
    {
        var stream = _stream ?? throw new InvalidOperationException($"The writer for {_path} is completed or disposed.");
        if (_next == _tensors.Count)
            throw new InvalidOperationException($"{_path}: all {_tensors.Count} tensors are written; '{name}' is one too many.");
        var spec = _tensors[_next];
        if (name != spec.Name)
            throw new InvalidOperationException($"{_path}: tensor '{spec.Name}' comes next but '{name}' was written.");
        if (data.Length != _byteLengths[_next])
            throw new ArgumentException($"{_path}: tensor '{name}' ({ShapeMath.Format(spec.Shape)} × {SafetensorsDType.Name(spec.Type)}) is {_byteLengths[_next]} bytes, not {data.Length}.", nameof(data));
        AtomicFile.Append(stream, _path, data);
        _next++;
    }

    /// <summary>Syncs the file to disk and renames it to its final name.</summary>
    public void Complete()
    {
        var stream = _stream ?? throw new InvalidOperationException($"The writer for {_path} is completed or disposed.");
        if (_next < _tensors.Count)
            throw new InvalidOperationException($"{_path}: only {_next} of {_tensors.Count} tensors are written; '{_tensors[_next].Name}' is next.");
        _stream = null;
        AtomicFile.Commit(stream, _path);
        _done = true;
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
        if (!_done) File.Delete(AtomicFile.TempPath(_path));
        _done = true;
    }

    /// <summary>Writes Hugging Face's model.safetensors.index.json for shards written to directory.</summary>
    public static void WriteIndex(string directory, IReadOnlyDictionary<string, string> weightMap, long totalSize) =>
        CheckpointIndex.Write(directory, weightMap, totalSize);

    /// <summary>
    /// The JSON header, padded with spaces so the data section starts 8-aligned; the format allows no gaps
    /// between tensors, so the padding goes here.
    /// </summary>
    private static byte[] Header(IReadOnlyList<TensorSpec> tensors, long[] byteLengths, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            for (var i = 0; i < tensors.Count; i++)
            {
                json.WriteStartObject(tensors[i].Name);
                json.WriteString("dtype", SafetensorsDType.Name(tensors[i].Type));
                json.WriteStartArray("shape");
                foreach (var dim in tensors[i].Shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset = checked(offset + byteLengths[i]);
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        var padding = (int)((Alignment - (8 + buffer.Length) % Alignment) % Alignment);
        for (var i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}
