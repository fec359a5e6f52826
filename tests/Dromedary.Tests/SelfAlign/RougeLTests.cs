using System.Text.Json;
using Dromedary.SelfAlign.Text;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

public class RougeLTests
{
    public sealed record Case(string Target, string Prediction, string[] TargetTokens, string[] PredictionTokens, int Lcs, double Fmeasure);

    private static Case[] Cases() => JsonSerializer.Deserialize<Case[]>(File.ReadAllText(SelfAlignFixtures.Path("rouge_cases.json")),
        new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!;

    [Fact]
    public void Tokens_lcs_and_f_measure_match_the_rouge_score_transcription()
    {
        foreach (var c in Cases())
        {
            Assert.Equal(c.TargetTokens, RougeTokenizer.Tokenize(c.Target));
            Assert.Equal(c.PredictionTokens, RougeTokenizer.Tokenize(c.Prediction));
            var pool = new NoveltyPool();
            var target = pool.Intern(c.Target);
            var prediction = pool.Intern(c.Prediction);
            var rouge = new RougeL(target);
            Assert.Equal(c.Lcs, rouge.Lcs(prediction));
            Assert.Equal(c.Fmeasure, rouge.FMeasure(prediction), 1e-15);
        }
    }

    [Fact]
    public void Bit_parallel_lcs_equals_the_dynamic_programming_table_across_word_boundaries()
    {
        var random = new Random(5);
        foreach (var (m, n) in new[] { (1, 1), (63, 64), (64, 64), (65, 3), (127, 200), (130, 129), (300, 40) })
        {
            var a = Enumerable.Range(0, m).Select(_ => random.Next(6)).ToArray();
            var b = Enumerable.Range(0, n).Select(_ => random.Next(6)).ToArray();
            Assert.Equal(NaiveLcs(a, b), new RougeL(a).Lcs(b));
            Assert.Equal(NaiveLcs(b, a), new RougeL(b).Lcs(a));
        }
    }

    [Fact]
    public void Pool_rejects_above_the_threshold_and_reports_the_mean_when_kept()
    {
        var pool = new NoveltyPool();
        string[] seeds = ["Write a poem about the sea.", "Give three tips for staying healthy.", "List four rivers in Asia."];
        foreach (var seed in seeds) pool.Add(seed);

        var copy = pool.Judge("Write a short poem about the sea.", 0.7);
        Assert.False(copy.Novel);
        Assert.True(copy.MaxScore > 0.7);

        const string fresh = "Explain how a bicycle gear works.";
        var verdict = pool.Judge(fresh, 0.7);
        Assert.True(verdict.Novel);
        var scores = seeds.Select(s => new RougeL(pool.Intern(fresh)).FMeasure(pool.Intern(s))).ToArray();
        Assert.Equal(scores.Average(), verdict.MeanScore, 1e-12);
        Assert.Equal(scores.Max(), verdict.MaxScore, 1e-12);
    }

    [Fact]
    public void A_score_equal_to_the_threshold_is_kept()
    {
        // lcs 2 of 2 and 2 tokens: F = 1, so a threshold of 1 keeps it and anything lower rejects it.
        var pool = new NoveltyPool();
        pool.Add("red fox");
        Assert.True(pool.Judge("Red, fox!", 1.0).Novel);
        Assert.False(pool.Judge("Red, fox!", 0.99).Novel);
    }

    private static int NaiveLcs(int[] a, int[] b)
    {
        var table = new int[a.Length + 1, b.Length + 1];
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                table[i, j] = a[i - 1] == b[j - 1] ? table[i - 1, j - 1] + 1 : Math.Max(table[i - 1, j], table[i, j - 1]);
        return table[a.Length, b.Length];
    }
}
