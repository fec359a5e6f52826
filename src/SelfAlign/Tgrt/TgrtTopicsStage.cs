using System.Globalization;
using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.Tgrt;

/// <summary>
/// Stage 1b, TGRT topic brainstorming (METHOD.md §2.3). Epoch r starts from the previous epoch's pool (the seed
/// topics for r = 0) deduplicated and balanced, asks for more topics once per topic in it, and appends what parses;
/// each epoch's pool is written to topics_epoch{r}.jsonl. kept.jsonl is the last pool deduplicated, balanced and
/// shuffled (with the run's seed; the original's shuffle was unseeded). Epochs depend on each other, so this
/// stage runs whole, not in shards (the original used one node).
/// </summary>
public static class TgrtTopicsStage
{
    public static StageSummary Run(TgrtTopicsOptions options, StageContext context)
    {
        if (!context.Shard.IsWhole) throw new DromedaryException("tgrt-topics runs whole (each epoch needs all of the previous one); drop --shard.");
        var folder = context.Folder;
        using var log = context.OpenLog();
        var raw = (log is null ? folder.ReadRaw() : log.Existing.Select(json => RawCompletion.FromJson(json, log.Path))).ToDictionary(r => r.Id);
        if (log is not null) folder.Claim(options.Parameters(context.Seed));
        var pump = log is null ? null : context.Pump(log);

        var stats = new FilterStats();
        var pool = options.Seeds.Select(s => new TypedTopic(s.Topic, s.QuestionType)).ToList();
        var completions = 0;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            var topics = TopicParser.DedupAndBalance(pool, stats);
            var prompts = topics.Select((topic, j) => Prompt(options, context.Seed, epoch, j, topic, topics)).ToList();
            foreach (var fresh in pump?.Run(prompts, epoch * prompts.Count, options.Epochs * prompts.Count) ?? []) raw[fresh.Id] = fresh;
            if (prompts.Any(p => !raw.ContainsKey(p.Id))) return Save(folder, TopicParser.DedupAndBalance(pool, null), stats, completions, complete: false, context.Seed);
            pool = [.. topics];
            foreach (var prompt in prompts)
            {
                completions++;
                stats.Add("completions");
                var type = prompt.Fields["question_type"];
                pool.AddRange(TopicParser.Parse(raw[prompt.Id].Text, stats).Select(t => new TypedTopic(t, type)));
            }
            RunFolder.WriteJsonl(Path.Combine(folder.Path, $"topics_epoch{epoch}.jsonl"), pool.Select(ToJson));
        }
        return Save(folder, TopicParser.DedupAndBalance(pool, stats), stats, completions, complete: true, context.Seed);
    }

    private static StageSummary Save(RunFolder folder, List<TypedTopic> topics, FilterStats stats, int completions, bool complete, int seed)
    {
        var shuffled = Seeds.Shuffle(Seeds.Random(seed, -1), topics);
        stats.Set("kept", shuffled.Count);
        folder.WriteResults(shuffled.Select(ToJson), stats);
        return new StageSummary(complete, completions, shuffled.Count, stats, folder.Path);
    }

    private static JsonObject ToJson(TypedTopic topic) => new() { ["topic"] = topic.Topic, ["question_type"] = topic.QuestionType };

    private static PendingPrompt Prompt(TgrtTopicsOptions options, int seed, int epoch, int index, TypedTopic topic, List<TypedTopic> pool)
    {
        var random = Seeds.Random(seed, index, stream: epoch + 1);
        var sameType = pool.Where(t => t.QuestionType == topic.QuestionType).ToList();
        var listed = sameType.Count < 2 * options.Examples ? [topic] : Seeds.Shuffle(random, sameType).Take(options.Examples).ToList();
        var fields = new Dictionary<string, string>
        {
            ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
            ["index"] = index.ToString(CultureInfo.InvariantCulture),
            ["question_type"] = topic.QuestionType,
        };
        return new PendingPrompt($"e{epoch}-{index}", fields,
            () => TopicParser.Prompt(options.MetaPrompt, topic.QuestionType, listed),
            StageSampling.Options(options.MaxNewTokens, options.Temperature, options.TopP, Seeds.For(seed, index, stream: 100 + epoch), options.EosId));
    }
}
