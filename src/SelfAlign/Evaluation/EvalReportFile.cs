using System.Text.Json;
using Dromedary.Model.Safetensors;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Evaluation;

/// <summary>Writes a result file atomically and reads one back (for `eval compare`).</summary>
public static class EvalReportFile
{
    public static void Write(string path, EvalReport report) =>
        AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(report, EvalJson.Indented));

    public static EvalReport Read(string path)
    {
        if (!File.Exists(path)) throw new DromedaryException($"{path}: not found.");
        try
        {
            return JsonSerializer.Deserialize<EvalReport>(File.ReadAllBytes(path), EvalJson.Lines)
                ?? throw new DromedaryException($"{path}: holds null, not an evaluation result.");
        }
        catch (JsonException e)
        {
            var line = e.LineNumber is { } number ? $":{number + 1}" : "";
            throw new DromedaryException($"{path}{line}: not an evaluation result written by `dromedary eval` ({JsonRecordFile.Reason(e)}).");
        }
    }
}
