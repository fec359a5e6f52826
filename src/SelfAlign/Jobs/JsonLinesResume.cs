using System.Text;
using System.Text.Json;
using Dromedary.Model;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Jobs;

/// <summary>What an output file already holds: the keys of its records, and what was done to its last line, if anything.</summary>
public sealed record ResumeScan(IReadOnlySet<string> Done, string? Repair);

/// <summary>
/// Reads a JSON Lines file written by <see cref="JsonLinesWriter"/> to resume the job that writes it. A run killed
/// mid-write leaves a last line without its line end: when that line is a complete record it is kept (the line end
/// is added), otherwise it is cut off and will be made again; either way <see cref="ResumeScan.Repair"/> says so.
/// Anything else wrong (a bad line before the last, a record without its key, a key twice) is not the trace of a kill,
/// so it is an error naming file and line, and the file is left untouched.
/// </summary>
public static class JsonLinesResume
{
    public static ResumeScan Scan(string path, string keyField)
    {
        if (!File.Exists(path)) return new ResumeScan(new HashSet<string>(), null);
        using var stream = Open(path);
        if (stream.Length == 0) return new ResumeScan(new HashSet<string>(), null);
        stream.Position = stream.Length - 1;
        var endsWithLineEnd = stream.ReadByte() == '\n';
        stream.Position = 0;

        var done = new Dictionary<string, int>();
        var problems = new List<string>();
        var lineNumber = 0;
        string? last = null;
        using (var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true))
        {
            // Each line is checked once the next is read, so the last one can be told apart.
            for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
            {
                if (last is not null) Check(path, last, lineNumber, keyField, done, problems);
                last = line;
                lineNumber++;
            }
        }
        string? repair = null;
        if (last is not null && endsWithLineEnd) Check(path, last, lineNumber, keyField, done, problems);
        else if (last is not null && IsJson(last))
        {
            Check(path, last, lineNumber, keyField, done, problems);
            if (problems.Count == 0)
            {
                stream.Position = stream.Length;
                stream.Write("\n"u8);
                repair = $"{path}:{lineNumber}: the last record had no line end (an interrupted run); added it.";
            }
        }
        else if (last is not null && problems.Count == 0)
        {
            var start = LastLineStart(stream);
            var torn = stream.Length - start;
            stream.SetLength(start);
            repair = string.IsNullOrWhiteSpace(last) ? null
                : $"{path}:{lineNumber}: dropped an unfinished last line ({torn} bytes) left by an interrupted run; its record will be made again.";
        }
        if (problems.Count > 0) throw new DromedaryException(JsonRecordFile.Summary(path, problems));
        stream.Flush(flushToDisk: true);
        return new ResumeScan(done.Keys.ToHashSet(), repair);
    }

    /// <summary>Opened for writing and locked, so the repair cannot race a run still appending to the file.</summary>
    private static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DromedaryException($"{path}: cannot open ({e.Message}); is another run writing it?", e);
        }
    }

    private static void Check(string path, string line, int lineNumber, string keyField, Dictionary<string, int> done, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(line)) return;
        var found = new List<string>();
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                found.Add($"expected a JSON object, found {JsonKinds.Describe(document.RootElement.ValueKind)}");
            else if (RecordKey.Read(document.RootElement, keyField, found) is { } key && !done.TryAdd(key, lineNumber))
                found.Add($"duplicate {keyField} {JsonSerializer.Serialize(key)}, first on line {done[key]}");
        }
        catch (JsonException e)
        {
            found.Add($"not valid JSON ({JsonRecordFile.Reason(e)})");
        }
        foreach (var problem in found) problems.Add($"{path}:{lineNumber}: {problem}");
    }

    private static bool IsJson(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The byte offset just after the file's last '\n' (0 when it has none), found by reading backwards.</summary>
    private static long LastLineStart(FileStream stream)
    {
        var buffer = new byte[64 * 1024];
        for (var end = stream.Length; end > 0;)
        {
            var size = (int)Math.Min(buffer.Length, end);
            end -= size;
            stream.Position = end;
            stream.ReadExactly(buffer, 0, size);
            var newline = buffer.AsSpan(0, size).LastIndexOf((byte)'\n');
            if (newline >= 0) return end + newline + 1;
        }
        return 0;
    }
}
