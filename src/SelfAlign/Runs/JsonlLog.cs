using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dromedary.Model;
using Dromedary.SelfAlign.Jobs;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Runs;

/// <summary>What a resumable output file already holds: the keys of its records, and what was done to its last line, if anything.</summary>
public sealed record ResumeScan(IReadOnlySet<string> Done, string? Repair);

/// <summary>
/// An append-only JSON Lines file that survives a kill, and the one way every resumable job writes its records: each
/// record is one line, written whole and flushed to disk before the next. Opening it repairs what a kill mid-write
/// leaves: a last line without its line end is kept when it is a complete record (the line end is added) and cut
/// off otherwise, and <see cref="Repair"/> says which. Anything else wrong (a bad line before the last, with a key
/// field a record without its key or a key twice) is not the trace of a kill, so it is an error naming file and
/// line, and the file is left untouched. While open, no other run can write the file.
/// </summary>
public sealed class JsonlLog : IDisposable
{
    private readonly FileStream _stream;

    private JsonlLog(string path, FileStream stream, Contents contents, string? repair)
    {
        Path = path;
        _stream = stream;
        Existing = contents.Records;
        Keys = contents.Keys;
        Repair = repair;
    }

    public string Path { get; }

    /// <summary>The records the file held when opened, in file order.</summary>
    public IReadOnlyList<JsonObject> Existing { get; }

    /// <summary>The key of every existing record, when opened with a key field (else empty).</summary>
    public IReadOnlySet<string> Keys { get; }

    /// <summary>What opening did to a last line left by an interrupted run, for the user; null when nothing.</summary>
    public string? Repair { get; }

    /// <summary>Opens (creating it and its folder if needed) the file for appending, after reading and repairing what is there.</summary>
    /// <param name="keyField">A field every record must hold once across the file (a string or a number), or null.</param>
    public static JsonlLog Open(string path, string? keyField = null)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var stream = Lock(path);
        try
        {
            var contents = ReadWhole(stream, path, keyField);
            var repair = contents.Torn switch
            {
                null => null,
                { Record: true } => $"{path}:{contents.Torn.Line}: the last record had no line end (an interrupted run); added it.",
                _ when contents.Torn.Blank => null,
                _ => $"{path}:{contents.Torn.Line}: dropped an unfinished last line ({stream.Length - contents.End} bytes) left by an interrupted run; its record will be made again.",
            };
            stream.SetLength(contents.End);
            stream.Seek(contents.End, SeekOrigin.Begin);
            if (contents.Torn is { Record: true }) stream.Write("\n"u8);
            stream.Flush(flushToDisk: true);
            return new JsonlLog(path, stream, contents, repair);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The keys an output file holds and its repair, for a job that appends to it later; a missing file holds none and is not made.</summary>
    public static ResumeScan Scan(string path, string keyField)
    {
        if (!File.Exists(path)) return new ResumeScan(new HashSet<string>(), null);
        using var log = Open(path, keyField);
        return new ResumeScan(log.Keys, log.Repair);
    }

    /// <summary>Reads a finished log (no repair; a torn last line is skipped).</summary>
    public static List<JsonObject> Read(string path)
    {
        if (!File.Exists(path)) throw new DromedaryException($"{path}: not found.");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return ReadWhole(stream, path, null).Records;
    }

    public void Append(JsonObject record)
    {
        var line = Encoding.UTF8.GetBytes(record.ToJsonString(JsonText.Compact) + "\n");
        try
        {
            _stream.Write(line);
            _stream.Flush(flushToDisk: true);
        }
        catch (IOException e)
        {
            throw new DromedaryException($"{Path}: cannot write ({e.Message}).", e);
        }
    }

    public void Dispose() => _stream.Dispose();

    private static FileStream Lock(string path)
    {
        try
        {
            // FileShare.None is an exclusive lock on Unix too (the others are shared locks that would let a second run in).
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DromedaryException($"{path}: cannot open for appending ({e.Message}); is another run writing it?", e);
        }
    }

    /// <summary>A last line without its line end: its number, and its record when it is one.</summary>
    private sealed record TornLine(int Line, JsonObject? Json, bool Blank)
    {
        public bool Record => Json is not null;
    }

    /// <param name="End">The byte offset after the last whole record; what follows it is a torn line.</param>
    private sealed record Contents(List<JsonObject> Records, HashSet<string> Keys, long End, TornLine? Torn);

    private static Contents ReadWhole(FileStream stream, string path, string? keyField)
    {
        var bytes = new byte[stream.Length];
        stream.Seek(0, SeekOrigin.Begin);
        stream.ReadExactly(bytes);
        var records = new List<JsonObject>();
        var keys = new Dictionary<string, int>();
        var problems = new List<string>();
        var start = 0;
        var lineNumber = 0;
        TornLine? torn = null;
        while (start < bytes.Length)
        {
            var newline = Array.IndexOf(bytes, (byte)'\n', start);
            var last = newline < 0;
            var line = Encoding.UTF8.GetString(bytes, start, (last ? bytes.Length : newline) - start);
            lineNumber++;
            if (last)
            {
                // A kill tears only the line being written: a last line that is a whole record was just not ended.
                var element = string.IsNullOrWhiteSpace(line) ? null : TryParse(line);
                var json = element is { } whole ? JsonObject.Create(whole) : null;
                torn = new TornLine(lineNumber, json, string.IsNullOrWhiteSpace(line));
                if (element is null) break;
                Check(element.Value, keyField, path, lineNumber, keys, problems);
                records.Add(json!);
                start = bytes.Length;
                break;
            }
            start = newline + 1;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (Parse(line, path, lineNumber, problems) is not { } record) continue;
            Check(record, keyField, path, lineNumber, keys, problems);
            records.Add(JsonObject.Create(record)!);
        }
        if (problems.Count > 0) throw new DromedaryException(JsonRecordFile.Summary(path, problems));
        return new Contents(records, keys.Keys.ToHashSet(), start, torn);
    }

    /// <summary>The line's JSON object, or null with a problem.</summary>
    private static JsonElement? Parse(string line, string path, int lineNumber, List<string> problems)
    {
        try
        {
            var element = JsonSerializer.Deserialize<JsonElement>(line);
            if (element.ValueKind == JsonValueKind.Object) return element;
            problems.Add($"{path}:{lineNumber}: expected a JSON object, found {JsonKinds.Describe(element.ValueKind)}");
        }
        catch (JsonException e)
        {
            problems.Add($"{path}:{lineNumber}: not valid JSON ({JsonRecordFile.Reason(e)})");
        }
        return null;
    }

    private static JsonElement? TryParse(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<JsonElement>(line) is { ValueKind: JsonValueKind.Object } element ? element : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void Check(JsonElement record, string? keyField, string path, int lineNumber, Dictionary<string, int> keys, List<string> problems)
    {
        if (keyField is null) return;
        var found = new List<string>();
        if (RecordKey.Read(record, keyField, found) is { } key && !keys.TryAdd(key, lineNumber))
            found.Add($"duplicate {keyField} {JsonSerializer.Serialize(key)}, first on line {keys[key]}");
        foreach (var problem in found) problems.Add($"{path}:{lineNumber}: {problem}");
    }
}
