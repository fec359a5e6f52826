using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Dromedary.Model.Safetensors;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.Align;

/// <summary>
/// RUN/run.json: what fixes an align run's result — the base model, the seed, the precision, every stage
/// parameter and a fingerprint of each embedded text — written on the first run and compared on every later one,
/// so a run folder never mixes two runs' records.
/// </summary>
public static class AlignRunFile
{
    public const string FileName = "run.json";

    public static JsonObject Describe(AlignRequest request) => new()
    {
        ["base"] = Path.GetFullPath(request.Base),
        ["seed"] = request.Seed,
        ["precision"] = request.Precision,
        ["parameters"] = request.Config.ToJson(),
        ["texts"] = TextFingerprints(),
        ["dromedary"] = typeof(AlignRunFile).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
    };

    /// <summary>Writes run.json into a new run, or checks that the recorded one asks for the same run.</summary>
    public static void Claim(string runDirectory, JsonObject description)
    {
        Directory.CreateDirectory(runDirectory);
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path))
        {
            AtomicFile.Write(path, Encoding.UTF8.GetBytes(description.ToJsonString(JsonText.Indented) + "\n"));
            return;
        }
        JsonNode? recorded;
        try
        {
            recorded = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new DromedaryException($"{path}: not valid JSON ({e.Message}); is {runDirectory} an align run?");
        }
        // The build's version is informative: a rebuild may resume a run.
        var comparable = (JsonObject)description.DeepClone();
        comparable.Remove("dromedary");
        if (recorded is JsonObject saved) saved.Remove("dromedary");
        if (FirstDifference(recorded, comparable, "") is { } key)
            throw new DromedaryException($"{path}: this run was made with other parameters ({key}: recorded {At(recorded, key)}, asked {At(comparable, key)}); " +
                                         "rerun with the same ones, or choose another --out.");
    }

    /// <summary>The dotted path of the first value that differs, or null when both are equal.</summary>
    public static string? FirstDifference(JsonNode? a, JsonNode? b, string prefix)
    {
        if (a is JsonObject left && b is JsonObject right)
        {
            foreach (var key in left.Select(p => p.Key).Union(right.Select(p => p.Key)))
            {
                var path = prefix.Length == 0 ? key : $"{prefix}.{key}";
                if (!left.ContainsKey(key) || !right.ContainsKey(key)) return path;
                if (FirstDifference(left[key], right[key], path) is { } inner) return inner;
            }
            return null;
        }
        return JsonNode.DeepEquals(a, b) ? null : prefix.Length == 0 ? "(whole file)" : prefix;
    }

    /// <summary>The value at a dotted path as JSON text, or "nothing" where the key is absent.</summary>
    private static string At(JsonNode? root, string path)
    {
        foreach (var key in path.Split('.'))
        {
            if (root is not JsonObject o || !o.ContainsKey(key)) return "nothing";
            root = o[key];
        }
        return root?.ToJsonString(JsonText.Compact) ?? "null";
    }

    private static JsonObject TextFingerprints()
    {
        var texts = new JsonObject();
        foreach (var file in new[] { EmbeddedPrompts.SelfInstruct, EmbeddedPrompts.TgrtTopics, EmbeddedPrompts.TgrtQuestions,
                     EmbeddedPrompts.Standard, EmbeddedPrompts.Concise, EmbeddedPrompts.Extensive })
            texts[file] = Fingerprint.Of([EmbeddedPrompts.Read(file)]);
        texts[SeedData.SeedTasksFile] = Fingerprint.Of(SeedData.SeedTasks(null).SelectMany(t => new[] { t.Instruction, t.Input }));
        texts[SeedData.TgrtSeedsFile] = Fingerprint.Of(SeedData.TgrtSeeds(null).SelectMany(s => new[] { s.Topic, s.QuestionType, s.Question }));
        texts[SeedData.AlignmentPromptFile] = Fingerprint.Of([SeedData.Prompt(null, null).Text]);
        texts[SeedData.BlacklistFile] = Fingerprint.Of(SeedData.LeakMarkers(null));
        texts[SeedData.IdentityFile] = Fingerprint.Of(SeedData.Identity(null).SelectMany(e => new[] { e.Question, e.Answer }));
        return texts;
    }
}
