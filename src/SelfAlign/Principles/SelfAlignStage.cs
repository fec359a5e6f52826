using System.Globalization;
using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.Principles;

/// <summary>
/// Stage 2, principle-driven self-alignment (METHOD.md §3): every query of this shard is appended to the shared
/// principles-and-exemplars prefix and completed; the answers are extracted and filtered (§3.3) in query order.
/// A whole run's kept.jsonl is the final data set (identity examples added, example ids assigned); a shard's holds
/// its answers only, and merge-shards assembles the set.
/// </summary>
public static class SelfAlignStage
{
    public static StageSummary Run(SelfAlignOptions options, StageContext context)
    {
        var prompts = context.Shard.Take(Enumerable.Range(0, options.Queries.Count)).Select(i => Prompt(options, context.ShardSeed, i)).ToList();
        var (raw, complete) = context.CompleteAll(options.Parameters(context.ShardSeed), prompts);
        var filter = new AnswerFilter(options.Prompt, LeakBlacklist.From(options.Prompt, options.ExtraLeakMarkers), options.Name);
        var stats = new FilterStats();
        var kept = new List<JsonObject>();
        foreach (var record in raw.OrderBy(r => int.Parse(r.Field("index"), CultureInfo.InvariantCulture)))
        {
            stats.Add("completions");
            var outcome = filter.Apply(record.Text);
            if (outcome.DroppedBy is { } rule)
            {
                stats.Add(rule);
                if (outcome.Marker is { } marker) stats.Add($"{rule}: {marker}");
                continue;
            }
            kept.Add(new JsonObject
            {
                ["id"] = record.Id,
                ["instruction"] = record.Field("instruction"),
                ["input"] = record.Field("input"),
                ["output"] = outcome.Answer,
            });
        }
        stats.Set("kept", kept.Count);
        var written = context.Shard.IsWhole ? AlignedSet.Assemble(kept, options.Identity, options.Name) : kept;
        if (context.Shard.IsWhole) stats.Set("identity_added", options.Identity.Count);
        context.Folder.WriteResults(written, stats);
        return new StageSummary(complete, raw.Count, kept.Count, stats, context.Folder.Path);
    }

    private static PendingPrompt Prompt(SelfAlignOptions options, int seed, int index)
    {
        var query = options.Queries[index];
        var fields = new Dictionary<string, string>
        {
            ["index"] = index.ToString(CultureInfo.InvariantCulture),
            ["instruction"] = query.Instruction,
            ["input"] = query.Input,
        };
        return new PendingPrompt($"sa-{index}", fields, () => options.Prompt.Build(query.Instruction, query.Input),
            StageSampling.Options(options.MaxNewTokens, options.Temperature, options.TopP, Seeds.For(seed, index), options.SorryId));
    }
}
