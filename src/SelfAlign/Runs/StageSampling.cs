using Dromedary.Model.Generation;

namespace Dromedary.SelfAlign.Runs;

/// <summary>The sampling every stage uses: temperature and top-p, a per-prompt seed, and at most one token banned (−100).</summary>
public static class StageSampling
{
    public static GenerationOptions Options(int maxNewTokens, float temperature, float topP, ulong seed, int? bannedId) => new()
    {
        MaxNewTokens = maxNewTokens,
        Sampling = new SamplingOptions
        {
            Temperature = temperature,
            TopP = topP,
            Seed = seed,
            LogitBias = bannedId is { } id ? new Dictionary<int, float> { [id] = -100f } : new Dictionary<int, float>(),
        },
    };
}
