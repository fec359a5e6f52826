using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.Principles;

/// <summary>Stage 2's parameters, defaulting to the original's (METHOD.md §3.2, §11).</summary>
public sealed record SelfAlignOptions(AlignmentPrompt Prompt, IReadOnlyList<Query> Queries, IReadOnlyList<IdentityExample> Identity)
{
    public float Temperature { get; init; } = 0.5f;
    public float TopP { get; init; } = 0.95f;
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>The token id of "▁Sorry" (the first token of "Sorry"), banned with −100; null bans nothing.</summary>
    public int? SorryId { get; init; }

    /// <summary>The name the assistant's codename is replaced with in kept answers.</summary>
    public string Name { get; init; } = "Dromedary";

    /// <summary>Leak markers added to those derived from the exemplars.</summary>
    public IReadOnlyList<string> ExtraLeakMarkers { get; init; } = [];

    /// <summary>The first token of "Sorry" (SentencePiece's word-initial "▁Sorry" in LLaMA's vocabulary).</summary>
    public static int SorryToken(Dromedary.Model.Tokenization.TextTokenizer tokenizer) => tokenizer.Encode("Sorry", addBos: false)[0];

    public JsonObject Parameters(int seed) => new()
    {
        ["stage"] = "self-align",
        ["seed"] = seed,
        ["temperature"] = Temperature,
        ["top_p"] = TopP,
        ["max_new_tokens"] = MaxNewTokens,
        ["sorry_banned"] = SorryId is not null,
        ["inputs"] = Fingerprint.Of(Queries.SelectMany(q => new[] { q.Instruction, q.Input }).Prepend(Prompt.Text)),
    };
}
