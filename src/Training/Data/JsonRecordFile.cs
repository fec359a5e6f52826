using System.Text;
using System.Text.Json;
using Dromedary.Model;

namespace Dromedary.Training.Data;

/// <summary>
/// Reads records from a JSON array file or a JSON Lines file (told apart by the first non-space character) and
/// reports every bad record at once, one line each ("file:line: problem; problem"), so a user can fix a data set in one pass.
/// </summary>
public static class JsonRecordFile
{
    /// <summary>Problems listed in one error; the rest are counted.</summary>
    private const int MaxListed = 50;

    /// <summary>Turns one JSON object into a record, or adds the problems (without location) and returns null.</summary>
    public delegate T? Parser<T>(JsonElement record, List<string> problems) where T : class;

    /// <summary>A record and the line it starts on, for checks across records ("duplicate id, first on line 3").</summary>
    public readonly record struct Located<T>(T Record, int Line);

    /// <param name="what">What the file should hold, for the messages ("training records").</param>
    public static IReadOnlyList<T> Read<T>(string path, bool allowArray, string what, Parser<T> parse) where T : class =>
        ReadLocated(path, allowArray, what, parse).Select(located => located.Record).ToArray();

    /// <summary>As <see cref="Read"/>, with the line of each record.</summary>
    public static IReadOnlyList<Located<T>> ReadLocated<T>(string path, bool allowArray, string what, Parser<T> parse) where T : class
    {
        if (!File.Exists(path)) throw new DromedaryException($"{path}: not found.");
        return ReadLocated(() => File.OpenRead(path), path, allowArray, what, parse);
    }

    /// <summary>Reads records from a stream (an embedded resource); <paramref name="source"/> names it in messages.</summary>
    public static IReadOnlyList<T> Read<T>(Stream stream, string source, bool allowArray, string what, Parser<T> parse) where T : class
    {
        var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        var contents = bytes.ToArray();
        return ReadLocated(() => new MemoryStream(contents, writable: false), source, allowArray, what, parse)
            .Select(located => located.Record).ToArray();
    }

    /// <param name="open">Opens the contents afresh; the kind of file is told from the first character, then it is read.</param>
    private static IReadOnlyList<Located<T>> ReadLocated<T>(Func<Stream> open, string path, bool allowArray, string what, Parser<T> parse) where T : class
    {
        var (first, line) = FirstCharacter(open);
        var records = new List<Located<T>>();
        var problems = new List<string>();
        if (first == '[' && allowArray) ReadArray(open, path, parse, records, problems);
        else if (first == '{') ReadLines(open, path, parse, records, problems);
        else if (first is null) throw new DromedaryException($"{path}: empty; expected {what}.");
        else
        {
            var expected = allowArray ? "a JSON array of objects or JSON lines" : "JSON lines";
            throw new DromedaryException($"{path}:{line}: expected {expected} with {what}, found '{first}'.");
        }
        if (problems.Count > 0) throw new DromedaryException(Summary(path, problems));
        if (records.Count == 0) throw new DromedaryException($"{path}: holds no {what}.");
        return records;
    }

    private static (char? First, int Line) FirstCharacter(Func<Stream> open)
    {
        using var reader = new StreamReader(open(), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var line = 1;
        for (var c = reader.Read(); c >= 0; c = reader.Read())
        {
            if (c == '\n') line++;
            else if (!char.IsWhiteSpace((char)c)) return ((char)c, line);
        }
        return (null, line);
    }

    private static void ReadLines<T>(Func<Stream> open, string path, Parser<T> parse, List<Located<T>> records, List<string> problems) where T : class
    {
        var lineNumber = 0;
        var found = new List<string>();
        using var reader = new StreamReader(open(), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            found.Clear();
            try
            {
                using var document = JsonDocument.Parse(line);
                var record = ParseObject(document.RootElement, parse, found);
                if (record is not null) records.Add(new Located<T>(record, lineNumber));
            }
            catch (JsonException e)
            {
                found.Add($"not valid JSON ({Reason(e)})");
            }
            if (found.Count > 0) problems.Add($"{path}:{lineNumber}: {string.Join("; ", found)}");
        }
    }

    /// <summary>
    /// Walks the array element by element with Utf8JsonReader, whose byte offsets give each element's line; a
    /// syntax error ends the walk, since nothing after it can be located reliably.
    /// </summary>
    private static void ReadArray<T>(Func<Stream> open, string path, Parser<T> parse, List<Located<T>> records, List<string> problems) where T : class
    {
        var all = new MemoryStream();
        using (var stream = open()) stream.CopyTo(all);
        var json = all.ToArray().AsSpan();
        if (json.StartsWith(Encoding.UTF8.Preamble)) json = json[Encoding.UTF8.Preamble.Length..];
        var reader = new Utf8JsonReader(json);
        long counted = 0;
        var line = 1;
        var found = new List<string>();
        try
        {
            reader.Read();
            for (var index = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; index++)
            {
                // Offsets only grow, so each newline is counted once over the file.
                line += json[(int)counted..(int)reader.TokenStartIndex].Count((byte)'\n');
                counted = reader.TokenStartIndex;
                found.Clear();
                using (var document = JsonDocument.ParseValue(ref reader))
                {
                    var record = ParseObject(document.RootElement, parse, found);
                    if (record is not null) records.Add(new Located<T>(record, line));
                }
                if (found.Count > 0) problems.Add($"{path}:{line}: element {index}: {string.Join("; ", found)}");
            }
            // Anything but white space after the array makes the reader throw.
            while (reader.Read()) { }
        }
        catch (JsonException e)
        {
            problems.Add($"{path}:{(e.LineNumber ?? 0) + 1}: not valid JSON ({Reason(e)})");
        }
    }

    private static T? ParseObject<T>(JsonElement element, Parser<T> parse, List<string> problems) where T : class
    {
        if (element.ValueKind == JsonValueKind.Object) return parse(element, problems);
        problems.Add($"expected a JSON object, found {JsonKinds.Describe(element.ValueKind)}");
        return null;
    }

    /// <summary>The reader's message without its "LineNumber: … | BytePositionInLine: …" tail; we give the line ourselves.</summary>
    public static string Reason(JsonException e)
    {
        var message = e.Message;
        var tail = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (tail >= 0 ? message[..tail] : message).TrimEnd('.', ' ');
    }

    /// <summary>One message for all problems of a file ("file:line: problem" each), the first 50 listed.</summary>
    public static string Summary(string path, IReadOnlyList<string> problems)
    {
        var listed = string.Join("\n", problems.Take(MaxListed));
        var more = problems.Count > MaxListed ? $"\n… and {problems.Count - MaxListed} more" : "";
        var header = problems.Count == 1 ? "" : $"{path}: {problems.Count} problems:\n";
        return header + listed + more;
    }
}
