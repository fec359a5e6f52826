using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;

namespace Dromedary.Model.Generation;

/// <summary>
/// Chooses tokens from log-probability rows under <see cref="SamplingOptions"/>. One sampler serves one
/// sequence: it owns the sequence's random stream, so the draw depends only on the prompt, options and seed.
/// Bias and penalties are added to log-probs, which equals adding them to logits (softmax ignores a shift).
/// </summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private readonly bool[] _penalizable;
    private readonly float[] _scores;
    private readonly int[] _order;
    private readonly float[] _sortKeys;
    private SplitMix64 _random;

    /// <param name="wordInitial">Per token id: does the piece start a word ("▁x", not "▁" alone)?</param>
    public TokenSampler(SamplingOptions options, IReadOnlyList<bool> wordInitial)
    {
        options.Validate();
        _options = options;
        _penalizable = new bool[wordInitial.Count];
        for (var id = 0; id < _penalizable.Length; id++)
            _penalizable[id] = !options.PenaltyWordStartsOnly || (wordInitial[id] && id > options.PenaltyMinId);
        _scores = new float[wordInitial.Count];
        _order = new int[wordInitial.Count];
        _sortKeys = new float[wordInitial.Count];
        _random = new SplitMix64(options.Seed);
    }

    /// <summary>Picks the next token after <paramref name="generated"/> (the tokens generated so far).</summary>
    public int Next(ReadOnlySpan<float> logProbs, IReadOnlyList<int> generated)
    {
        var scores = _scores.AsSpan(0, logProbs.Length);
        logProbs.CopyTo(scores);
        foreach (var (id, bias) in _options.LogitBias)
            if ((uint)id < (uint)scores.Length) scores[id] += bias;
        ApplyPenalties(scores, generated);
        return _options.Temperature == 0 ? CpuLogSoftmax.Argmax(scores) : Draw(scores);
    }

    /// <summary>For each order k: candidates t such that (last k−1 generated tokens, t) occurred before lose c_k per occurrence.</summary>
    internal void ApplyPenalties(Span<float> scores, IReadOnlyList<int> generated)
    {
        for (var order = 1; order <= _options.NgramPenalties.Count; order++)
        {
            var penalty = _options.NgramPenalties[order - 1];
            if (penalty == 0 || generated.Count < order) continue;
            var context = generated.Count - (order - 1);
            for (var end = order - 1; end < generated.Count; end++)
            {
                // The n-gram ending at `end` matches the current context if its first k−1 tokens equal the last k−1.
                var matches = true;
                for (var j = 0; j < order - 1 && matches; j++) matches = generated[end - (order - 1) + j] == generated[context + j];
                var candidate = generated[end];
                if (matches && _penalizable[candidate]) scores[candidate] -= penalty;
            }
        }
    }

    /// <summary>softmax(scores / T), top-k, then top-p as the original: keep a token while the mass before it is ≤ p.</summary>
    private int Draw(Span<float> scores)
    {
        var temperature = _options.Temperature;
        var max = float.NegativeInfinity;
        foreach (var s in scores) max = Math.Max(max, s);
        var total = 0.0;
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i] = MathF.Exp((scores[i] - max) / temperature);
            total += scores[i];
        }

        // Most likely first; the sort is deterministic, so equal probabilities always land in the same order.
        var order = _order.AsSpan(0, scores.Length);
        var keys = _sortKeys.AsSpan(0, scores.Length);
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
            keys[i] = -scores[i];
        }
        keys.Sort(order);

        var keep = _options.TopK > 0 ? Math.Min(_options.TopK, order.Length) : order.Length;
        var before = 0.0;
        var kept = 0;
        for (; kept < keep; kept++)
        {
            if (before / total > _options.TopP) break;
            before += scores[order[kept]];
        }

        var target = _random.NextDouble() * before;
        var cumulative = 0.0;
        for (var i = 0; i < kept; i++)
        {
            cumulative += scores[order[i]];
            if (target < cumulative) return order[i];
        }
        return order[kept - 1];
    }
}
