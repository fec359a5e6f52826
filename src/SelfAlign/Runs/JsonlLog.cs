using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dromedary.SelfAlign.Runs;

/// <summary>
/// An append-only JSON Lines file that survives a kill: each record is written as one line and flushed to disk
/// before the next; on opening, a torn last line (a kill mid-write) is cut off, so every line left is a whole
/// record and none is written twice.
/// </summary>
public sealed class JsonlLog : IDisposable
{
    private readonly FileStream _stream;

    private JsonlLog(string path, FileStream stream, List<JsonObject> existing)
    {
        Path = path;
        _stream = stream;
        Existing = existing;
    }

    public string Path { get; }

    /// <summary>The records the file held when opened, in file order.</summary>
    public IReadOnlyList<JsonObject> Existing { get; }

    /// <summary>Opens (creating if needed) the file for appending, after reading and repairing what is there.</summary>
    public static JsonlLog Open(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            var existing = ReadWhole(stream, path, out var end);
            stream.SetLength(end);
            stream.Seek(end, SeekOrigin.Begin);
            return new JsonlLog(path, stream, existing);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads a finished log (no repair; a torn last line is skipped).</summary>
    public static List<JsonObject> Read(string path)
    {
        if (!File.Exists(path)) throw new DromedaryException($"{path}: not found.");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return ReadWhole(stream, path, out _);
    }

    public void Append(JsonObject record)
    {
        var line = Encoding.UTF8.GetBytes(record.ToJsonString(JsonText.Compact) + "\n");
        _stream.Write(line);
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();

    /// <param name="end">The byte offset after the last complete line; what follows it is a torn record.</param>
    private static List<JsonObject> ReadWhole(FileStream stream, string path, out long end)
    {
        var bytes = new byte[stream.Length];
        stream.Seek(0, SeekOrigin.Begin);
        stream.ReadExactly(bytes);
        var records = new List<JsonObject>();
        var start = 0;
        var lineNumber = 0;
        while (true)
        {
            var newline = Array.IndexOf(bytes, (byte)'\n', start);
            if (newline < 0) break;
            lineNumber++;
            var line = Encoding.UTF8.GetString(bytes, start, newline - start);
            start = newline + 1;
            if (string.IsNullOrWhiteSpace(line)) continue;
            records.Add(ParseLine(line, path, lineNumber));
        }
        end = start;
        return records;
    }

    private static JsonObject ParseLine(string line, string path, int lineNumber)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject
                ?? throw new DromedaryException($"{path}:{lineNumber}: expected a JSON object.");
        }
        catch (JsonException e)
        {
            throw new DromedaryException($"{path}:{lineNumber}: not valid JSON ({e.Message}).", e);
        }
    }
}
