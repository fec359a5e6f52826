namespace Dromedary.Model.Generation;

/// <summary>
/// How the next token is chosen, in the method's order: log-probs + logit bias, then n-gram frequency
/// penalties, then softmax(logits / temperature), then top-k and top-p, then one draw. Temperature 0 is argmax.
/// </summary>
public sealed record SamplingOptions
{
    public float Temperature { get; init; }
    public float TopP { get; init; } = 1f;

    /// <summary>Keep only the k most likely tokens; 0 keeps all.</summary>
    public int TopK { get; init; }

    /// <summary>Added to a token's logit at every step; −100 or less bans it in practice.</summary>
    public IReadOnlyDictionary<int, float> LogitBias { get; init; } = new Dictionary<int, float>();

    /// <summary>
    /// Penalty per n-gram order (index 0 = unigrams … 3 = 4-grams): a candidate that would repeat an n-gram of the
    /// generated tokens loses penalty × (times that n-gram occurred) from its logit.
    /// </summary>
    public IReadOnlyList<float> NgramPenalties { get; init; } = [0f, 0f, 0f, 0f];

    /// <summary>Penalise only word-initial pieces with ids above <see cref="PenaltyMinId"/> (the original's default).</summary>
    public bool PenaltyWordStartsOnly { get; init; } = true;

    public int PenaltyMinId { get; init; } = 1024;

    public ulong Seed { get; init; } = 1;

    public static SamplingOptions Greedy { get; } = new();

    /// <summary>Checks ranges; throws a message naming the option.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0)) throw new DromedaryException($"temperature must be 0 or more, not {Temperature}.");
        if (!(TopP is > 0 and <= 1)) throw new DromedaryException($"top-p must be in (0, 1], not {TopP}.");
        if (TopK < 0) throw new DromedaryException($"top-k must be 0 (all) or positive, not {TopK}.");
        if (NgramPenalties.Count is 0 or > 4) throw new DromedaryException($"n-gram penalties cover orders 1 to 4, not {NgramPenalties.Count} orders.");
    }
}
