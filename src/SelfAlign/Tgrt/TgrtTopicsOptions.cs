using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.Tgrt;

/// <summary>Topic brainstorming's parameters, defaulting to the original's (METHOD.md §2.3, §11).</summary>
/// <param name="MetaPrompt">The brainstorm template; its one "{}" takes the question type.</param>
public sealed record TgrtTopicsOptions(string MetaPrompt, IReadOnlyList<TgrtSeed> Seeds)
{
    /// <summary>
    /// Brainstorming rounds. The original ran 9 but fed stage 1c from its epoch-5 file, the pool after six rounds
    /// (epochs 0–5); six is the default here, so the result is that file deduplicated and balanced.
    /// </summary>
    public int Epochs { get; init; } = 6;

    /// <summary>Topics listed in a prompt once a type has at least twice as many.</summary>
    public int Examples { get; init; } = 5;

    public float Temperature { get; init; } = 1.0f;
    public float TopP { get; init; } = 0.98f;
    public int MaxNewTokens { get; init; } = 128;
    public int? EosId { get; init; }

    public JsonObject Parameters(int seed) => new()
    {
        ["stage"] = "tgrt-topics",
        ["seed"] = seed,
        ["examples"] = Examples,
        ["temperature"] = Temperature,
        ["top_p"] = TopP,
        ["max_new_tokens"] = MaxNewTokens,
        ["eos_banned"] = EosId is not null,
        ["inputs"] = Fingerprint.Of(Seeds.SelectMany(s => new[] { s.Topic, s.QuestionType }).Prepend(MetaPrompt)),
    };
}
