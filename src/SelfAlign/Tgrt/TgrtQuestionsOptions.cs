using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.Tgrt;

/// <summary>TGRT question generation's parameters, defaulting to the original's (METHOD.md §2.4, §11).</summary>
/// <param name="MetaPrompt">The template; its two "{}" take the hint list and the example list.</param>
/// <param name="Topics">The brainstormed topics (tgrt-topics' kept.jsonl).</param>
public sealed record TgrtQuestionsOptions(string MetaPrompt, IReadOnlyList<TgrtSeed> Seeds, IReadOnlyList<TypedTopic> Topics)
{
    public int Demonstrations { get; init; } = 5;

    /// <summary>New (topic, type) hints per prompt.</summary>
    public int HintsPerPrompt { get; init; } = 5;

    public float Temperature { get; init; } = 1.0f;
    public float TopP { get; init; } = 0.95f;
    public int MaxNewTokens { get; init; } = 384;
    public int? EosId { get; init; }

    public JsonObject Parameters(int seed) => new()
    {
        ["stage"] = "tgrt-questions",
        ["seed"] = seed,
        ["demonstrations"] = Demonstrations,
        ["hints_per_prompt"] = HintsPerPrompt,
        ["temperature"] = Temperature,
        ["top_p"] = TopP,
        ["max_new_tokens"] = MaxNewTokens,
        ["eos_banned"] = EosId is not null,
        ["inputs"] = Fingerprint.Of(Seeds.SelectMany(s => new[] { s.Topic, s.QuestionType, s.Question })
            .Concat(Topics.SelectMany(t => new[] { t.Topic, t.QuestionType })).Prepend(MetaPrompt)),
    };
}
