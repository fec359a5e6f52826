using System.Text.Json;
using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Evaluation;
using Dromedary.Tests.Model;
using Xunit;

namespace Dromedary.Tests.Evaluation;

/// <summary>
/// Whole protocols on the tiny model against make_eval_reference.py, which assembles the prompts itself and scores
/// them with an independent float64 forward: same prompt strings, log-likelihoods within 1e-3, same predictions.
/// </summary>
public class EvalReferenceTests
{
    private const double Tolerance = 1e-3;

    private static EvalReport Evaluate(string benchmark, Func<TextTokenizer, string, IReadOnlyList<ItemPlan>> plan, Action<IReadOnlyList<ItemPlan>> checkPlans)
    {
        using var loaded = ForwardTests.Load("f32", Precision.Fp32);
        var tokenizer = TextTokenizer.Load(Fixtures.TinyLlama("f32"));
        var plans = plan(tokenizer, EvalPrompts.Meta(EvalFixtures.System));
        checkPlans(plans);
        using var temp = new TempDirectory();
        var settings = new Dictionary<string, string?> { ["benchmark"] = benchmark };
        return Evaluator.Run(benchmark, settings, plans, new LikelihoodScorer(tokenizer, new SequentialScorer(loaded.Model)), temp["out.json"]);
    }

    private static void AssertMatches(JsonElement expected, ItemResult actual, double[] expectedLogLikelihoods)
    {
        Assert.Equal(expectedLogLikelihoods.Length, actual.LogLikelihoods.Length);
        for (var i = 0; i < expectedLogLikelihoods.Length; i++) Assert.Equal(expectedLogLikelihoods[i], actual.LogLikelihoods[i], Tolerance);
        var scores = EvalFixtures.Doubles(expected.GetProperty("scores"));
        Assert.Equal(scores.Length, actual.Scores.Length);
        for (var i = 0; i < scores.Length; i++) Assert.Equal(scores[i], actual.Scores[i], Tolerance);
        Assert.Equal(expected.GetProperty("predicted").GetInt32(), actual.Predicted);
        Assert.Equal(expected.GetProperty("credit").GetDouble(), actual.Credit, Tolerance);
    }

    [Fact]
    public void TruthfulQa_protocols_match_the_reference()
    {
        var reference = EvalFixtures.Reference.GetProperty("truthfulqa");
        var questions = TruthfulQaReader.Read(EvalFixtures.TruthfulQa("mc_task.json"));
        var report = Evaluate("truthfulqa", (_, meta) => TruthfulQaProtocols.Plan(questions, TruthfulQaProtocols.Parse("all"), meta, null), plans =>
        {
            foreach (var plan in plans)
            {
                var expected = reference.GetProperty(plan.Protocol)[plan.Index];
                var prompts = EvalFixtures.Strings(expected.GetProperty("prompts"));
                var targets = EvalFixtures.Strings(expected.GetProperty("targets"));
                var texts = plan.Protocol == TruthfulQaProtocols.TrueFalse
                    ? prompts.SelectMany(prompt => targets.Select(target => new ScoredText(prompt, target)))
                    : prompts.Zip(targets, (prompt, target) => new ScoredText(prompt, target));
                Assert.Equal(texts, plan.Texts);
            }
        });
        Assert.Equal(9, report.Items.Count);
        foreach (var item in report.Items)
        {
            var expected = reference.GetProperty(item.Protocol)[item.Index];
            var logLikelihoods = item.Protocol == TruthfulQaProtocols.TrueFalse
                ? expected.GetProperty("target_logprobs").EnumerateArray().SelectMany(EvalFixtures.Doubles).ToArray()
                : EvalFixtures.Doubles(expected.GetProperty("scores"));
            AssertMatches(expected, item, logLikelihoods);
        }
        foreach (var row in report.Summary)
            Assert.Equal(reference.GetProperty(row.Protocol).EnumerateArray().Average(item => item.GetProperty("credit").GetDouble()), row.Value, Tolerance);
    }

    [Fact]
    public void Hhh_protocol_matches_the_reference()
    {
        var reference = EvalFixtures.Reference.GetProperty("hhh").EnumerateArray().ToArray();
        var examples = HhhReader.Read(EvalFixtures.Hhh);
        var report = Evaluate("hhh", (tokenizer, meta) => HhhProtocol.Plan(examples, meta, new HhhTruncation(tokenizer, EvalFixtures.HhhMaxSeqLen), null), plans =>
        {
            Assert.Equal(reference.Length, plans.Count);
            for (var i = 0; i < plans.Count; i++)
            {
                var prompts = EvalFixtures.Strings(reference[i].GetProperty("prompts"));
                Assert.Equal([prompts[0], prompts[0], prompts[1], prompts[1]], plans[i].Texts.Select(text => text.Prompt));
            }
            Assert.Contains(plans, plan => plan.Texts[0].Prompt.Contains("Human:  ... "));
        });
        for (var i = 0; i < reference.Length; i++)
        {
            Assert.Equal(reference[i].GetProperty("category").GetString(), report.Items[i].Group);
            AssertMatches(reference[i], report.Items[i], reference[i].GetProperty("target_logprobs").EnumerateArray().SelectMany(EvalFixtures.Doubles).ToArray());
        }
        Assert.Equal(["harmless", "helpful", "honest", "other", "all"], report.Summary.Select(row => row.Group));
        Assert.Equal(reference.Average(item => item.GetProperty("credit").GetDouble()), report.Summary[^1].Value, Tolerance);
    }
}
