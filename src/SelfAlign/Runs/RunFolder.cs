using System.Text;
using System.Text.Json.Nodes;
using Dromedary.Model.Safetensors;

namespace Dromedary.SelfAlign.Runs;

/// <summary>
/// The folder one stage (or one shard of it) writes: run.json (its parameters), raw.jsonl (every completion,
/// appended as it arrives), kept.jsonl and stats.json (derived from raw.jsonl, rewritten whole and atomically).
/// </summary>
public sealed class RunFolder
{
    public RunFolder(string path) => Path = path;

    /// <summary>The folder of a shard inside the run directory; a whole run writes into the directory itself.</summary>
    public static RunFolder For(string runDirectory, ShardSpec shard) =>
        new(shard.IsWhole ? runDirectory : System.IO.Path.Combine(runDirectory, shard.FolderName));

    public string Path { get; }
    public string Raw => System.IO.Path.Combine(Path, "raw.jsonl");
    public string Kept => System.IO.Path.Combine(Path, "kept.jsonl");
    public string Stats => System.IO.Path.Combine(Path, "stats.json");
    public string Parameters => System.IO.Path.Combine(Path, "run.json");

    /// <summary>
    /// Records the run's parameters, or checks them against those already recorded: resuming with other
    /// parameters would mix two runs' completions in one raw.jsonl.
    /// </summary>
    public void Claim(JsonObject parameters)
    {
        Directory.CreateDirectory(Path);
        var text = parameters.ToJsonString(JsonText.Indented);
        if (File.Exists(Parameters))
        {
            var recorded = JsonNode.Parse(File.ReadAllText(Parameters));
            if (!JsonNode.DeepEquals(recorded, parameters))
                throw new DromedaryException(
                    $"{Parameters}: this folder holds a run with other parameters; resume with the same ones or use another --out.\n" +
                    $"recorded: {recorded?.ToJsonString(JsonText.Compact)}\nasked:    {parameters.ToJsonString(JsonText.Compact)}");
            return;
        }
        AtomicFile.Write(Parameters, Encoding.UTF8.GetBytes(text + "\n"));
    }

    /// <summary>The parameters recorded by <see cref="Claim"/>.</summary>
    public JsonObject ReadParameters()
    {
        if (!File.Exists(Parameters)) throw new DromedaryException($"{Parameters}: not found; is {Path} a run folder?");
        return JsonNode.Parse(File.ReadAllText(Parameters)) as JsonObject
            ?? throw new DromedaryException($"{Parameters}: expected a JSON object.");
    }

    /// <summary>The completions of a run, for --filter-only.</summary>
    public List<RawCompletion> ReadRaw() => File.Exists(Raw)
        ? JsonlLog.Read(Raw).Select(json => RawCompletion.FromJson(json, Raw)).ToList()
        : throw new DromedaryException($"{Raw}: not found; --filter-only re-filters the completions of an earlier run.");

    public void WriteResults(IEnumerable<JsonObject> kept, FilterStats stats)
    {
        Directory.CreateDirectory(Path);
        WriteJsonl(Kept, kept);
        AtomicFile.Write(Stats, Encoding.UTF8.GetBytes(stats.ToJson().ToJsonString(JsonText.Indented) + "\n"));
    }

    public static void WriteJsonl(string path, IEnumerable<JsonObject> records)
    {
        var text = new StringBuilder();
        foreach (var record in records) text.Append(record.ToJsonString(JsonText.Compact)).Append('\n');
        AtomicFile.Write(path, Encoding.UTF8.GetBytes(text.ToString()));
    }

    public static List<JsonObject> ReadJsonl(string path) => JsonlLog.Read(path);
}
