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

    public void Write(string folder)
    {
        var json = new JsonObject { ["in"] = In, ["kept"] = Kept, ["seconds"] = Math.Round(Seconds, 1) };
        AtomicFile.Write(PathIn(folder), Encoding.UTF8.GetBytes(json.ToJsonString(JsonText.Indented) + "\n"));
    }
}
