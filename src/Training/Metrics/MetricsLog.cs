using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dromedary.Training.Metrics;

/// <summary>
/// metrics.jsonl: one JSON object per optimizer step, appended and flushed line by line so a crash loses at most
/// the line being written. A resumed run opens it at its first step and drops the lines from there on, which the
/// crashed run wrote after its last checkpoint, so no step appears twice.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    // A diverged run logs NaN or ∞; JSON has no such numbers, so they are written as the strings "NaN", "Infinity".
    private static readonly JsonSerializerOptions Options = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectRequiredConstructorParameters = true,
    };

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly StreamWriter _writer;

    /// <param name="firstStep">The step this run starts at; lines of this step and later are dropped (0 starts afresh).</param>
    public MetricsLog(string path, int firstStep = 0)
    {
        Path = path;
        if (System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) is { } folder) Directory.CreateDirectory(folder);
        if (File.Exists(path))
        {
            // Rewrite beside and rename, so a crash now cannot lose the steps being kept.
            var kept = Read(path).Where(metrics => metrics.Step < firstStep).Select(Line);
            var temporary = path + ".tmp";
            File.WriteAllText(temporary, string.Concat(kept), Utf8);
            File.Move(temporary, path, overwrite: true);
        }
        _writer = new StreamWriter(path, append: true, Utf8);
    }

    public string Path { get; }

    public void Append(StepMetrics metrics)
    {
        _writer.Write(Line(metrics));
        _writer.Flush();
    }

    private static string Line(StepMetrics metrics) => JsonSerializer.Serialize(metrics, Options) + "\n";

    /// <summary>The steps of a metrics file. A last line cut short by a crash is left out; any other bad line is an error.</summary>
    public static IReadOnlyList<StepMetrics> Read(string path)
    {
        var lines = File.ReadAllText(path).Split('\n');
        var steps = new List<StepMetrics>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            try
            {
                steps.Add(JsonSerializer.Deserialize<StepMetrics>(lines[i], Options)
                    ?? throw new JsonException("null instead of an object"));
            }
            catch (JsonException e) when (i < lines.Length - 1)
            {
                throw new DromedaryException($"{path}:{i + 1}: not a metrics line ({e.Message}).");
            }
            catch (JsonException)
            {
                // The file does not end in a newline here: the write was torn.
            }
        }
        return steps;
    }

    public void Dispose() => _writer.Dispose();
}
