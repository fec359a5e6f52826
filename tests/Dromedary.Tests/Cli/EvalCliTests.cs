using System.Text.Json;
using Dromedary.Tests.Evaluation;
using Xunit;

namespace Dromedary.Tests.Cli;

/// <summary>`dromedary eval` end to end on the tiny model, against make_eval_reference.py's predictions.</summary>
public class EvalCliTests
{
    private static readonly string F32 = Fixtures.TinyLlama("f32");

    /// <summary>Each written item's prediction and credit equal the reference's for the same protocol and item.</summary>
    private static int AssertItemsMatch(string path, Func<JsonElement, JsonElement> referenceFor)
    {
        using var written = JsonDocument.Parse(File.ReadAllText(path));
        var items = written.RootElement.GetProperty("items").EnumerateArray().ToArray();
        foreach (var item in items)
        {
            var expected = referenceFor(item);
            Assert.Equal(expected.GetProperty("predicted").GetInt32(), item.GetProperty("predicted").GetInt32());
            Assert.Equal(expected.GetProperty("credit").GetDouble(), item.GetProperty("credit").GetDouble(), 1e-3);
        }
        return items.Length;
    }

    [Fact]
    public void Truthfulqa_and_hhh_write_results_that_compare()
    {
        using var temp = new TempDirectory();
        var truthfulqa = Cli.Run("eval", "truthfulqa", "--model", F32, "--precision", "fp32", "--data", EvalFixtures.TruthfulQa("hf.jsonl"),
            "--system", EvalFixtures.System, "--protocol", "all", "--limit", "1", "--out", temp["tqa.json"]);
        Assert.True(truthfulqa.ExitCode == 0, truthfulqa.Stderr);
        Assert.Contains("true-false", truthfulqa.Stdout);
        var reference = EvalFixtures.Reference.GetProperty("truthfulqa");
        Assert.Equal(3, AssertItemsMatch(temp["tqa.json"], item => reference.GetProperty(item.GetProperty("protocol").GetString()!)[item.GetProperty("index").GetInt32()]));

        var other = Cli.Run("eval", "truthfulqa", "--model", F32, "--precision", "fp32", "--data", EvalFixtures.TruthfulQa("mc_task.json"),
            "--system", EvalFixtures.System, "--protocol", "mc1", "--limit", "2", "--out", temp["tqa2.json"]);
        Assert.True(other.ExitCode == 0, other.Stderr);
        var compare = Cli.Run("eval", "compare", temp["tqa.json"], temp["tqa2.json"]);
        Assert.True(compare.ExitCode == 0, compare.Stderr);
        Assert.Contains("mc1: predictions differ on 0 of 1 shared items", compare.Stdout);

        var hhh = Cli.Run("eval", "hhh", "--model", F32, "--precision", "fp32", "--data", EvalFixtures.Hhh, "--system", EvalFixtures.System,
            "--max-seq-len", $"{EvalFixtures.HhhMaxSeqLen}", "--limit", "1", "--out", temp["hhh.json"]);
        Assert.True(hhh.ExitCode == 0, hhh.Stderr);
        Assert.Contains("harmless", hhh.Stdout);
        var hhhReference = EvalFixtures.Reference.GetProperty("hhh").EnumerateArray().ToArray();
        Assert.Equal(4, AssertItemsMatch(temp["hhh.json"], item => hhhReference.Single(example =>
            example.GetProperty("category").GetString() == item.GetProperty("group").GetString() &&
            example.GetProperty("index").GetInt32() == item.GetProperty("index").GetInt32())));
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
