using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Dromedary.SelfAlign.Jobs;

/// <summary>
/// Appends records to a JSON Lines file, one object per line, each written whole and flushed before the next, so a
/// killed run loses no finished record (at worst the line being written is torn; <see cref="JsonLinesResume"/>
/// repairs that). The file is locked while open, so two runs cannot write it at once. Scan it with
/// <see cref="JsonLinesResume.Scan"/> before appending.
/// </summary>
public sealed class JsonLinesWriter : IDisposable
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly string _path;
    private readonly FileStream _stream;
    private readonly ArrayBufferWriter<byte> _buffer = new();

    private JsonLinesWriter(string path, FileStream stream)
    {
        _path = path;
        _stream = stream;
    }

    /// <summary>Opens (or creates, with its folder) the file for appending.</summary>
    public static JsonLinesWriter Append(string path)
    {
        try
        {
            if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder) Directory.CreateDirectory(folder);
            return new JsonLinesWriter(path, new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DromedaryException($"{path}: cannot open for appending ({e.Message}); is another run writing it?", e);
        }
    }

    /// <summary>Writes one record: <paramref name="writeObject"/> writes a single JSON object.</summary>
    public void Write(Action<Utf8JsonWriter> writeObject)
    {
        _buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_buffer, Options))
        {
            writeObject(writer);
            if (writer.CurrentDepth != 0 || writer.BytesPending + writer.BytesCommitted == 0)
                throw new InvalidOperationException("a JSON Lines record must be one complete JSON value");
        }
        _buffer.Write("\n"u8);
        try
        {
            _stream.Write(_buffer.WrittenSpan);
            _stream.Flush();
        }
        catch (IOException e)
        {
            throw new DromedaryException($"{_path}: cannot write ({e.Message}).", e);
        }
    }

    public void Dispose() => _stream.Dispose();
}
