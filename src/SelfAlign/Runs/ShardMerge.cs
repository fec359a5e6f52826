using System.Text;
using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Principles;

namespace Dromedary.SelfAlign.Runs;

/// <summary>
/// Joins the shards of a stage (folders shard-i-of-N in the run directory) into the directory's kept.jsonl and
/// stats.json, by the stage's rule: Self-Instruct drops an instruction whose normalised text (lower case, every
/// character outside [a-z0-9] a space) appeared in an earlier shard (METHOD.md §2.2, merge_self_instruct.py);
/// TGRT questions keep the first per (topic, type); self-align concatenates and assembles the final set with the
/// identity examples and example ids.
/// </summary>
public static class ShardMerge
{
    public static StageSummary Run(string runDirectory, Func<IReadOnlyList<IdentityExample>> identity, string name)
    {
        var shards = FindShards(runDirectory);
        var stage = shards[0].ReadParameters()["stage"]?.GetValue<string>()
            ?? throw new DromedaryException($"{shards[0].Parameters}: no \"stage\".");
        foreach (var shard in shards)
        {
            var other = shard.ReadParameters()["stage"]?.GetValue<string>();
            if (other != stage) throw new DromedaryException($"{shard.Parameters}: stage {other}, but {shards[0].Parameters} is {stage}.");
            if (!File.Exists(shard.Kept)) throw new DromedaryException($"{shard.Kept}: not found; finish that shard first.");
        }
        var stats = new FilterStats();
        var perShard = shards.Select(s => RunFolder.ReadJsonl(s.Kept)).ToList();
        foreach (var records in perShard) stats.Add("shard_records", records.Count);
        var merged = stage switch
        {
            "self-instruct" => DedupAcrossShards(perShard, stats),
            "tgrt-questions" => FirstPerTopic(perShard, stats),
            "self-align" => AlignedSet.Assemble(perShard.SelectMany(r => r), identity(), name),
            _ => throw new DromedaryException($"{shards[0].Parameters}: stage {stage} is not run in shards."),
        };
        stats.Set("kept", merged.Count);
        var folder = new RunFolder(runDirectory);
        folder.WriteResults(merged, stats);
        return new StageSummary(true, 0, merged.Count, stats, runDirectory);
    }

    private static List<RunFolder> FindShards(string runDirectory)
    {
        if (!Directory.Exists(runDirectory)) throw new DromedaryException($"{runDirectory}: not found.");
        var names = Directory.GetDirectories(runDirectory, "shard-*-of-*").Select(Path.GetFileName).ToList();
        if (names.Count == 0) throw new DromedaryException($"{runDirectory}: no shard-i-of-N folders to merge.");
        var count = ShardSpec.Parse(names[0]!.Replace("shard-", "").Replace("-of-", "/")).Count;
        var shards = new List<RunFolder>();
        for (var i = 0; i < count; i++)
        {
            var folder = RunFolder.For(runDirectory, new ShardSpec(i, count));
            if (!Directory.Exists(folder.Path)) throw new DromedaryException($"{folder.Path}: missing; all {count} shards are needed.");
            shards.Add(folder);
        }
        if (names.Count != count) throw new DromedaryException($"{runDirectory}: shard folders of different counts ({string.Join(", ", names)}).");
        return shards;
    }

    private static List<JsonObject> DedupAcrossShards(List<List<JsonObject>> shards, FilterStats stats)
    {
        var earlier = new HashSet<string>(StringComparer.Ordinal);
        var merged = new List<JsonObject>();
        foreach (var records in shards)
        {
            var here = new List<string>();
            foreach (var record in records)
            {
                var key = Normalize(Text(record, "instruction"));
                if (earlier.Contains(key))
                {
                    stats.Add("duplicate_of_earlier_shard");
                    continue;
                }
                here.Add(key);
                merged.Add(record);
            }
            // As the original: the set grows only between files, so duplicates within one shard stay.
            earlier.UnionWith(here);
        }
        return merged;
    }

    private static List<JsonObject> FirstPerTopic(List<List<JsonObject>> shards, FilterStats stats)
    {
        var seen = new HashSet<(string, string)>();
        var merged = new List<JsonObject>();
        foreach (var record in shards.SelectMany(r => r))
        {
            if (seen.Add((Text(record, "topic"), Text(record, "question_type")))) merged.Add(record);
            else stats.Add("duplicate_topic_and_type");
        }
        return merged;
    }

    /// <summary>Lower case, and every character outside [a-z0-9] a space (one space per character).</summary>
    public static string Normalize(string instruction)
    {
        var text = new StringBuilder(instruction.Length);
        foreach (var c in instruction.ToLowerInvariant()) text.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : ' ');
        return text.ToString();
    }

    private static string Text(JsonObject record, string field) =>
        record[field] is JsonValue value && value.TryGetValue<string>(out var text)
            ? text
            : throw new DromedaryException($"a kept record lacks the string \"{field}\".");
}
