using System.Text;
using System.Text.Json.Nodes;
using Dromedary.Model.Safetensors;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.Align;

/// <summary>
/// complete.json in a stage's folder, written atomically as the stage's last act: its presence means the stage is
/// done and is skipped. It holds what the report shows: items in, records kept, seconds taken.
/// </summary>
public sealed record StageMarker(int In, int Kept, double Seconds)
{
    public const string FileName = "complete.json";

    /// <summary>The seconds of earlier, stopped invocations of a stage, so its time in the report counts them too.</summary>
    public const string ElapsedFile = "elapsed_seconds.txt";

    public static string PathIn(string folder) => Path.Combine(folder, FileName);

    public static StageMarker? Read(string folder)
    {
        var path = PathIn(folder);
        if (!File.Exists(path)) return null;
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(path))!;
            return new StageMarker(json["in"]!.GetValue<int>(), json["kept"]!.GetValue<int>(), json["seconds"]!.GetValue<double>());
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new DromedaryException($"{path}: not a stage marker ({e.Message}); delete it to rerun the stage.");
        }
    }

    public static double ElapsedBefore(string folder)
    {
        var path = Path.Combine(folder, ElapsedFile);
        return File.Exists(path) && double.TryParse(File.ReadAllText(path), System.Globalization.CultureInfo.InvariantCulture, out var seconds) ? seconds : 0;
    }

    public static void SaveElapsed(string folder, double seconds)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.Write(Path.Combine(folder, ElapsedFile), Encoding.UTF8.GetBytes(seconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)));
    }

    public void Write(string folder)
    {
        var json = new JsonObject { ["in"] = In, ["kept"] = Kept, ["seconds"] = Math.Round(Seconds, 1) };
        AtomicFile.Write(PathIn(folder), Encoding.UTF8.GetBytes(json.ToJsonString(JsonText.Indented) + "\n"));
    }
}
