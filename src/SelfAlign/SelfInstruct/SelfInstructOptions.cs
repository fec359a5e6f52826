using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.SelfInstruct;

/// <summary>Stage 1a's parameters, defaulting to the original's (METHOD.md §2.2, §11).</summary>
public sealed record SelfInstructOptions(string MetaPrompt, IReadOnlyList<SeedTask> SeedTasks)
{
    /// <summary>Instructions each shard keeps before it stops (the original: 8192 per group).</summary>
    public int Target { get; init; } = 8192;

    /// <summary>Prompts per round; the novelty pool grows between rounds' prompts in prompt order.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Most prompts the shard sends in all (null: no cap, the original's way), so a model that never yields a keepable instruction still ends.</summary>
    public int? MaxPrompts { get; init; }

    public int Demonstrations { get; init; } = 5;
    public float Temperature { get; init; } = 1.0f;
    public float TopP { get; init; } = 0.98f;
    public int MaxNewTokens { get; init; } = 1024;

    /// <summary>An instruction whose ROUGE-L F-measure against any pooled one exceeds this is dropped.</summary>
    public double SimilarityThreshold { get; init; } = 0.7;

    /// <summary>EOS is banned (logit bias −100), so every completion runs to the length limit; null bans nothing.</summary>
    public int? EosId { get; init; }

    /// <summary>What the run's raw completions depend on; a resumed run must match it.</summary>
    public JsonObject Parameters(int seed) => new()
    {
        ["stage"] = "self-instruct",
        ["seed"] = seed,
        ["batch_size"] = BatchSize,
        ["demonstrations"] = Demonstrations,
        ["temperature"] = Temperature,
        ["top_p"] = TopP,
        ["max_new_tokens"] = MaxNewTokens,
        ["eos_banned"] = EosId is not null,
        ["inputs"] = Fingerprint.Of(SeedTasks.SelectMany(t => new[] { t.Instruction, t.Input }).Prepend(MetaPrompt)),
    };
}
