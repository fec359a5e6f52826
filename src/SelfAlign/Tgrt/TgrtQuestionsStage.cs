using System.Globalization;
using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.Tgrt;

/// <summary>
/// Stage 1c, TGRT question generation (METHOD.md §2.4): the shard's topics (every Count-th from Index) are taken
/// five consecutive (topic, type) pairs per prompt, each prompt with five seed questions drawn afresh as
/// demonstrations. Parsed instructions are kept first per (topic, type), in prompt order.
/// </summary>
public static class TgrtQuestionsStage
{
    public const string DuplicateRule = "duplicate_topic_and_type";

    public static StageSummary Run(TgrtQuestionsOptions options, StageContext context)
    {
        var folder = context.Folder;
        var topics = context.Shard.Take(options.Topics).ToList();
        var groups = topics.Chunk(options.HintsPerPrompt).ToList();
        var prompts = groups.Select((hints, j) => Prompt(options, context.ShardSeed, j, hints)).ToList();
        var (raw, complete) = context.CompleteAll(options.Parameters(context.ShardSeed), prompts);

        var stats = new FilterStats();
        var seen = new HashSet<(string, string)>();
        var kept = new List<JsonObject>();
        foreach (var record in raw.OrderBy(r => int.Parse(r.Field("index"), CultureInfo.InvariantCulture)))
        {
            stats.Add("completions");
            var index = int.Parse(record.Field("index"), CultureInfo.InvariantCulture);
            if (index >= groups.Count) throw new DromedaryException($"{folder.Raw}: {record.Id} has no topics in this shard; was the topics file changed?");
            var demonstrations = Demonstrations(options, context.ShardSeed, index);
            foreach (var (hint, instruction) in QuestionPrompt.Parse(record.Text, demonstrations, groups[index], stats))
            {
                if (!seen.Add((hint.Topic, hint.QuestionType)))
                {
                    stats.Add(DuplicateRule);
                    continue;
                }
                kept.Add(Record(record.Id, hint, instruction));
            }
        }
        stats.Set("kept", kept.Count);
        folder.WriteResults(kept, stats);
        return new StageSummary(complete, raw.Count, kept.Count, stats, folder.Path);
    }

    /// <summary>A kept question in the stage-2 input format, with its topic and type.</summary>
    public static JsonObject Record(string id, TypedTopic hint, string instruction) => new()
    {
        ["id"] = id,
        ["instruction"] = instruction,
        ["input"] = "",
        ["output"] = "",
        ["topic"] = hint.Topic,
        ["question_type"] = hint.QuestionType,
    };

    private static List<TgrtSeed> Demonstrations(TgrtQuestionsOptions options, int seed, int index) =>
        Seeds.Shuffle(Seeds.Random(seed, index), options.Seeds).Take(options.Demonstrations).ToList();

    private static PendingPrompt Prompt(TgrtQuestionsOptions options, int seed, int index, TypedTopic[] hints)
    {
        return new PendingPrompt($"q-{index}", new Dictionary<string, string> { ["index"] = index.ToString(CultureInfo.InvariantCulture) },
            () => QuestionPrompt.Build(options.MetaPrompt, Demonstrations(options, seed, index), hints),
            StageSampling.Options(options.MaxNewTokens, options.Temperature, options.TopP, Seeds.For(seed, index, stream: 1), options.EosId));
    }
}
