using Dromedary.Model.Inference;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Evaluation;
using Xunit;

namespace Dromedary.Tests.Evaluation;

/// <summary>Running, resuming, writing, reading and comparing results, with a stand-in scorer (no model).</summary>
public class EvalRunTests
{
    /// <summary>Log-probs that depend only on the tokens, counting calls, failing after a given number of calls.</summary>
    private sealed class FakeScorer(int failAfter = int.MaxValue) : ITokenScorer
    {
        public int Calls { get; private set; }

        public IReadOnlyList<float[]> Score(IReadOnlyList<ScoringRequest> requests, CancellationToken cancel = default)
        {
            if (Calls++ == failAfter) throw new IOException("the scorer stopped");
            return requests.Select(request => request.Continuation.Select((id, i) => -((id + request.Context.Length + i) % 7) / 4f).ToArray()).ToArray();
        }
    }

    private static readonly TextTokenizer Tokenizer = TextTokenizer.Load(Fixtures.TinyLlama("f32"));

    private static readonly Dictionary<string, string?> Settings = new() { ["benchmark"] = "truthfulqa", ["model"] = "m" };

    private static IReadOnlyList<ItemPlan> Plans() =>
        TruthfulQaProtocols.Plan(TruthfulQaReader.Read(EvalFixtures.TruthfulQa("hf.jsonl")), TruthfulQaProtocols.Parse("all"), "META", null);

    private static EvalReport Run(ITokenScorer scorer, string path, IReadOnlyDictionary<string, string?>? settings = null) =>
        Evaluator.Run("truthfulqa", settings ?? Settings, Plans(), new LikelihoodScorer(Tokenizer, scorer), path);

    [Fact]
    public void An_interrupted_run_resumes_and_matches_an_uninterrupted_one()
    {
        using var temp = new TempDirectory();
        var whole = Run(new FakeScorer(), temp["whole.json"]);
        Assert.False(File.Exists(Evaluator.JournalPath(temp["whole.json"])));

        Assert.Throws<IOException>(() => Run(new FakeScorer(failAfter: 4), temp["resumed.json"]));
        Assert.False(File.Exists(temp["resumed.json"]));
        var journal = Evaluator.JournalPath(temp["resumed.json"]);
        Assert.Equal(1 + 4, File.ReadAllLines(journal).Length);
        File.AppendAllText(journal, "{\"protocol\": \"mc1\", \"gro");  // a torn last line from a crash mid-write

        var second = new FakeScorer();
        var resumed = Run(second, temp["resumed.json"]);
        Assert.Equal(9 - 4, second.Calls);
        Assert.False(File.Exists(journal));
        Assert.Equal(whole.Summary, resumed.Summary);
        Assert.Equal(whole.Items.Select(item => (item.Key, item.Predicted, item.Credit)), resumed.Items.Select(item => (item.Key, item.Predicted, item.Credit)));
    }

    [Fact]
    public void A_journal_of_other_settings_is_refused_once_it_holds_items()
    {
        using var temp = new TempDirectory();
        var other = new Dictionary<string, string?> { ["benchmark"] = "truthfulqa", ["model"] = "first" };
        Assert.Throws<IOException>(() => Run(new FakeScorer(failAfter: 0), temp["out.json"], other));
        Assert.Throws<IOException>(() => Run(new FakeScorer(failAfter: 2), temp["out.json"]));
        var error = Assert.Throws<DromedaryException>(() => Run(new FakeScorer(), temp["out.json"], new Dictionary<string, string?> { ["benchmark"] = "truthfulqa", ["model"] = "other" }));
        Assert.Contains(Evaluator.JournalPath(temp["out.json"]), error.Message);
        Assert.Contains("other settings", error.Message);
    }

    [Fact]
    public void A_result_file_reads_back_as_written()
    {
        using var temp = new TempDirectory();
        var written = Run(new FakeScorer(), temp["out.json"]);
        var read = EvalReportFile.Read(temp["out.json"]);
        Assert.Equal(written.Benchmark, read.Benchmark);
        Assert.Equal(written.Settings, read.Settings);
        Assert.Equal(written.Summary, read.Summary);
        Assert.Equal(written.Items.Count, read.Items.Count);
        for (var i = 0; i < written.Items.Count; i++)
        {
            Assert.Equal(written.Items[i].Key, read.Items[i].Key);
            Assert.Equal(written.Items[i].Choices, read.Items[i].Choices);
            Assert.Equal(written.Items[i].LogLikelihoods, read.Items[i].LogLikelihoods);
            Assert.Equal(written.Items[i].Scores, read.Items[i].Scores);
        }
    }

    [Fact]
    public void Broken_result_files_are_clean_errors()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp["a.json"], "{\n \"benchmark\": \"hhh\",\n \"settings\": 3\n}");
        Assert.Contains($"{temp["a.json"]}:3: not an evaluation result", Assert.Throws<DromedaryException>(() => EvalReportFile.Read(temp["a.json"])).Message);
        File.WriteAllText(temp["b.json"], "{\"benchmark\": \"hhh\"}");
        Assert.Contains("not an evaluation result", Assert.Throws<DromedaryException>(() => EvalReportFile.Read(temp["b.json"])).Message);
        Assert.Contains("not found", Assert.Throws<DromedaryException>(() => EvalReportFile.Read(temp["c.json"])).Message);
    }

    private static ItemResult Item(string protocol, int index, int predicted, double credit) =>
        new(protocol, "", index, "q", ["x", "y"], [0, 0], [0, 0], predicted, credit);

    [Fact]
    public void Comparison_puts_summaries_side_by_side_and_counts_changed_predictions()
    {
        IReadOnlyDictionary<string, string?> none = new Dictionary<string, string?>();
        var a = new EvalReport("truthfulqa", none,
            [new SummaryRow("mc1", "all", "MC1", 0.5, 2), new SummaryRow("mc2", "all", "MC2", 0.25, 2)],
            [Item("mc1", 0, 0, 1), Item("mc1", 1, 1, 0), Item("mc2", 0, 0, 0.2), Item("mc2", 1, 1, 0.3)]);
        var b = new EvalReport("truthfulqa", none,
            [new SummaryRow("mc1", "all", "MC1", 1.0, 3), new SummaryRow("true-false", "all", "MC1", 0.0, 1)],
            [Item("mc1", 0, 0, 1), Item("mc1", 1, 0, 1), Item("mc1", 2, 0, 1), Item("true-false", 0, 1, 0)]);
        var comparison = EvalComparison.Of(a, b);
        Assert.Equal(
            [
                new ComparedRow("mc1", "all", "MC1", 0.5, 1.0, 2, 3),
                new ComparedRow("mc2", "all", "MC2", 0.25, null, 2, null),
                new ComparedRow("true-false", "all", "MC1", null, 0.0, null, 1),
            ],
            comparison.Rows);
        Assert.Equal([new PredictionChanges("mc1", 2, 1)], comparison.Changes);
        var hhh = a with { Benchmark = "hhh" };
        Assert.Contains("cannot compare", Assert.Throws<DromedaryException>(() => EvalComparison.Of(a, hhh)).Message);
    }
}
