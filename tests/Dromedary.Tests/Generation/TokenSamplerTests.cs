using Dromedary.Model.Generation;
using Xunit;

namespace Dromedary.Tests.Generation;

public class TokenSamplerTests
{
    private static bool[] AllWordInitial(int vocab) => Enumerable.Repeat(true, vocab).ToArray();

    private static float[] LogProbs(params double[] probabilities) => probabilities.Select(p => (float)Math.Log(p)).ToArray();

    private static double[] Frequencies(TokenSampler sampler, float[] logProbs, int draws)
    {
        var counts = new double[logProbs.Length];
        for (var i = 0; i < draws; i++) counts[sampler.Next(logProbs, [])]++;
        return counts.Select(c => c / draws).ToArray();
    }

    [Fact]
    public void Temperature_zero_takes_the_argmax_and_a_bias_can_ban_it()
    {
        var logProbs = LogProbs(0.1, 0.6, 0.3);
        Assert.Equal(1, new TokenSampler(SamplingOptions.Greedy, AllWordInitial(3)).Next(logProbs, []));
        var banned = new SamplingOptions { LogitBias = new Dictionary<int, float> { [1] = -100 } };
        Assert.Equal(2, new TokenSampler(banned, AllWordInitial(3)).Next(logProbs, []));
    }

    [Fact]
    public void Top_p_keeps_tokens_while_the_mass_before_them_is_at_most_p()
    {
        // Masses 0.5, 0.3, 0.2 with p = 0.6: the mass before the second token is 0.5 (kept), before the third 0.8 (dropped).
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, TopP = 0.6f, Seed = 3 }, AllWordInitial(3));
        var frequencies = Frequencies(sampler, LogProbs(0.5, 0.3, 0.2), 20000);
        Assert.Equal(0, frequencies[2]);
        Assert.Equal(0.625, frequencies[0], 0.015);
        Assert.Equal(0.375, frequencies[1], 0.015);
    }

    [Fact]
    public void Temperature_sharpens_the_distribution()
    {
        // T = 0.5 squares the probabilities: 0.25, 0.09, 0.04 renormalised.
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 0.5f, Seed = 9 }, AllWordInitial(3));
        var frequencies = Frequencies(sampler, LogProbs(0.5, 0.3, 0.2), 20000);
        Assert.Equal(0.25 / 0.38, frequencies[0], 0.015);
        Assert.Equal(0.09 / 0.38, frequencies[1], 0.015);
        Assert.Equal(0.04 / 0.38, frequencies[2], 0.015);
    }

    [Fact]
    public void Top_k_one_is_greedy_even_when_sampling()
    {
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, TopK = 1, Seed = 5 }, AllWordInitial(3));
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal(1, sampler.Next(LogProbs(0.3, 0.4, 0.3), [])));
    }

    [Fact]
    public void The_same_seed_gives_the_same_draws_and_another_seed_other_draws()
    {
        var logProbs = LogProbs(0.2, 0.2, 0.2, 0.2, 0.2);
        int[] Draws(ulong seed)
        {
            var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, Seed = seed }, AllWordInitial(5));
            return Enumerable.Range(0, 64).Select(_ => sampler.Next(logProbs, [])).ToArray();
        }
        Assert.Equal(Draws(7), Draws(7));
        Assert.NotEqual(Draws(7), Draws(8));
    }

    /// <summary>The penalty by a naive count: occurrences of (last k−1 generated tokens, t) in the generated tokens.</summary>
    private static float NaivePenalty(IReadOnlyList<int> generated, int candidate, float[] penalties)
    {
        var total = 0f;
        for (var k = 1; k <= penalties.Length; k++)
        {
            if (generated.Count < k) continue;
            var gram = generated.Skip(generated.Count - (k - 1)).Append(candidate).ToArray();
            var count = Enumerable.Range(0, generated.Count - k + 1).Count(start => generated.Skip(start).Take(k).SequenceEqual(gram));
            total += penalties[k - 1] * count;
        }
        return total;
    }

    [Fact]
    public void Ngram_penalties_equal_a_naive_count_for_every_order()
    {
        float[] penalties = [0.3f, 1f, 2f, 4f];
        var options = new SamplingOptions { NgramPenalties = penalties, PenaltyWordStartsOnly = false };
        var random = new Random(11);
        for (var trial = 0; trial < 50; trial++)
        {
            var generated = Enumerable.Range(0, random.Next(0, 30)).Select(_ => random.Next(0, 4)).ToList();
            var scores = new float[6];
            new TokenSampler(options, AllWordInitial(6)).ApplyPenalties(scores, generated);
            for (var t = 0; t < scores.Length; t++) Assert.Equal(-NaivePenalty(generated, t, penalties), scores[t], 1e-4);
        }
    }

    [Fact]
    public void Word_start_penalties_skip_inner_pieces_and_low_ids()
    {
        var wordInitial = Enumerable.Range(0, 1100).Select(id => id % 2 == 0).ToArray();
        var options = new SamplingOptions { NgramPenalties = [1f, 0f, 0f, 0f] };
        var scores = new float[1100];
        new TokenSampler(options, wordInitial).ApplyPenalties(scores, [1050, 1051, 1000, 1050]);
        Assert.Equal(-2f, scores[1050]);
        Assert.Equal(0f, scores[1051]);
        Assert.Equal(0f, scores[1000]);
    }

    [Theory]
    [InlineData(-1f, 1f, 0)]
    [InlineData(1f, 0f, 0)]
    [InlineData(1f, 1.5f, 0)]
    [InlineData(1f, 1f, -2)]
    public void Out_of_range_options_are_refused(float temperature, float topP, int topK) =>
        Assert.Throws<DromedaryException>(() => new TokenSampler(new SamplingOptions { Temperature = temperature, TopP = topP, TopK = topK }, AllWordInitial(3)));
}
