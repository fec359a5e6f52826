using System.Text.Json;
using Dromedary.Tests.Evaluation;
using Xunit;

namespace Dromedary.Tests.Cli;

/// <summary>`dromedary eval` end to end on the tiny model, against make_eval_reference.py's numbers.</summary>
public class EvalCliTests
{
    private static readonly string F32 = Fixtures.TinyLlama("f32");

    private static double[] SummaryValues(string path) =>
        JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("summary").EnumerateArray()
            .Select(row => row.GetProperty("value").GetDouble()).ToArray();

    private static double MeanCredit(JsonElement items) => items.EnumerateArray().Average(item => item.GetProperty("credit").GetDouble());

    [Fact]
    public void Truthfulqa_and_hhh_write_results_that_compare()
    {
        using var temp = new TempDirectory();
        var truthfulqa = Cli.Run("eval", "truthfulqa", "--model", F32, "--precision", "fp32", "--data", EvalFixtures.TruthfulQa("hf.jsonl"),
            "--system", EvalFixtures.System, "--protocol", "all", "--out", temp["tqa.json"]);
        Assert.True(truthfulqa.ExitCode == 0, truthfulqa.Stderr);
        Assert.Contains("true-false", truthfulqa.Stdout);
        var reference = EvalFixtures.Reference.GetProperty("truthfulqa");
        var values = SummaryValues(temp["tqa.json"]);
        Assert.Equal(3, values.Length);
        Assert.Equal(MeanCredit(reference.GetProperty("true-false")), values[0], 1e-3);
        Assert.Equal(MeanCredit(reference.GetProperty("mc1")), values[1], 1e-3);
        Assert.Equal(MeanCredit(reference.GetProperty("mc2")), values[2], 1e-3);

        var limited = Cli.Run("eval", "truthfulqa", "--model", F32, "--precision", "fp32", "--data", EvalFixtures.TruthfulQa("mc_task.json"),
            "--system", EvalFixtures.System, "--protocol", "mc1", "--limit", "2", "--out", temp["tqa2.json"]);
        Assert.True(limited.ExitCode == 0, limited.Stderr);
        var compare = Cli.Run("eval", "compare", temp["tqa.json"], temp["tqa2.json"]);
        Assert.True(compare.ExitCode == 0, compare.Stderr);
        Assert.Contains("mc1: predictions differ on 0 of 2 shared items", compare.Stdout);

        var hhh = Cli.Run("eval", "hhh", "--model", F32, "--precision", "fp32", "--data", EvalFixtures.Hhh, "--system", EvalFixtures.System,
            "--max-seq-len", $"{EvalFixtures.HhhMaxSeqLen}", "--out", temp["hhh.json"]);
        Assert.True(hhh.ExitCode == 0, hhh.Stderr);
        Assert.Contains("harmless", hhh.Stdout);
        Assert.Equal(MeanCredit(EvalFixtures.Reference.GetProperty("hhh")), SummaryValues(temp["hhh.json"])[^1], 1e-3);
    }

    [Fact]
    public void Bad_eval_input_is_a_one_line_error()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp["bad.jsonl"], "{\"question\": \"Q?\", \"mc1_targets\": {\"a\": 3}}\n");
        var result = Cli.Run("eval", "truthfulqa", "--model", F32, "--data", temp["bad.jsonl"], "--out", temp["out.json"]);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: {temp["bad.jsonl"]}:1: \"mc1_targets\".\"a\" must be 0 or 1, not 3", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);

        var protocol = Cli.Run("eval", "hhh", "--model", F32, "--data", EvalFixtures.Hhh, "--protocol", "mc2", "--out", temp["out.json"]);
        Assert.Equal(1, protocol.ExitCode);
        Assert.StartsWith("error: unknown HHH protocol 'mc2'", protocol.Stderr);
        Assert.False(File.Exists(temp["out.json"]));
    }
}
