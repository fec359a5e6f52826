using System.Text.Json;
using Dromedary.Training.Metrics;
using Xunit;

namespace Dromedary.Tests.Cli;

/// <summary>`dromedary train` and `dromedary merge` run as a user runs them, on the tiny model.</summary>
public sealed class TrainCliTests
{
    private static readonly string F32 = Fixtures.TinyLlama("f32");

    /// <summary>Six records and a short meta prompt (our standard one is longer than the tiny model's 256 positions).</summary>
    private static (string Data, string Prompt) WriteData(TempDirectory folder, string? badLine = null)
    {
        var lines = Enumerable.Range(0, 6).Select(i => JsonSerializer.Serialize(new
        {
            instruction = $"Say hello to camel {i}.", input = i % 2 == 0 ? "" : "The desert", output = $"Hello, camel {i}! The river flows north.", example_id = i,
        })).ToList();
        if (badLine != null) lines.Insert(2, badLine);
        File.WriteAllLines(folder["data.jsonl"], lines);
        File.WriteAllText(folder["meta.txt"], "# Camel\n\nA helpful camel answers.\n\n### User\n");
        return (folder["data.jsonl"], folder["meta.txt"]);
    }

    private static string[] TrainArgs(TempDirectory folder, string data, string prompt, params string[] more) =>
        ["train", "--base", F32, "--data", data, "--prompt", prompt, "--out", folder["run"], "--batch", "3", "--micro-batch", "2",
            "--epochs", "2", "--lr", "1e-2", "--warmup", "1", "--lora-r", "4", "--checkpoint-every", "2", .. more];

    private static float[] LogProbs(params string[] args)
    {
        var result = Cli.Run(["logprobs", "--text", "Hello, camel 3! The river flows north.", "--precision", "fp32", "--json", .. args]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonDocument.Parse(result.Stdout).RootElement.GetProperty("logprobs").EnumerateArray().Select(e => e.GetSingle()).ToArray();
    }

    [Fact]
    public void Train_writes_a_Peft_adapter_metrics_and_a_plot_and_merge_bakes_it_in()
    {
        using var folder = new TempDirectory();
        var (data, prompt) = WriteData(folder);
        var train = Cli.Run(TrainArgs(folder, data, prompt)); // int8 base weights, the default
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Contains("step 4/4 loss", train.Stderr);
        foreach (var file in new[] { "adapter_config.json", "adapter_model.safetensors", "loss.svg", "training_run.json" })
            Assert.True(File.Exists(Path.Combine(folder["run"], file)), file);
        var steps = MetricsLog.Read(Path.Combine(folder["run"], "metrics.jsonl"));
        Assert.Equal([1, 2, 3, 4], steps.Select(s => s.Step));
        Assert.All(steps, s => Assert.True(double.IsFinite(s.Loss) && s.Tokens > 0));
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder["run"], "adapter_config.json"))).RootElement;
        Assert.Equal(4, config.GetProperty("r").GetInt32());
        Assert.Equal(["q_proj", "k_proj", "v_proj", "o_proj"], config.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));

        var merge = Cli.Run("merge", "--base", F32, "--adapter", folder["run"], "--out", folder["merged"], "--dtype", "f32");
        Assert.True(merge.ExitCode == 0, merge.Stderr);
        var withAdapter = LogProbs("--model", F32, "--adapter", folder["run"]);
        var merged = LogProbs("--model", folder["merged"]);
        Assert.Equal(withAdapter.Length, merged.Length);
        for (var i = 0; i < merged.Length; i++) Assert.Equal(withAdapter[i], merged[i], 1e-4);

        // A second train into the run is refused, and so is resuming it with another learning rate.
        var again = Cli.Run(TrainArgs(folder, data, prompt));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("--resume", again.Stderr);
        var resumed = Cli.Run(TrainArgs(folder, data, prompt, "--resume", "--lr", "2e-2"));
        Assert.Equal(1, resumed.ExitCode);
        Assert.Contains("learning_rate is 0.02 now but was 0.01", resumed.Stderr);

        // A run can start from the adapter, whose rank holds.
        var init = Cli.Run("train", "--base", F32, "--data", data, "--prompt", prompt, "--out", folder["next"], "--init-adapter", folder["run"], "--lora-r", "8");
        Assert.Equal(1, init.ExitCode);
        Assert.Contains("--lora-r 8 contradicts --init-adapter", init.Stderr);
    }

    [Fact]
    public void A_malformed_record_is_a_one_line_error_with_file_and_line()
    {
        using var folder = new TempDirectory();
        var (data, prompt) = WriteData(folder, badLine: """{"instruction": 7, "input": ""}""");
        var result = Cli.Run(TrainArgs(folder, data, prompt));
        Assert.Equal(1, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"error: {data}:3: ", lines[0]);
        Assert.Contains("\"instruction\" must be a string", lines[0]);
        Assert.Contains("missing \"output\"", lines[0]);
        Assert.False(Directory.Exists(folder["run"]));
    }

    [Fact]
    public void Merging_into_an_int8_checkpoint_is_refused()
    {
        using var folder = new TempDirectory();
        Assert.Equal(0, Cli.Run("quantize", "--model", F32, "--out", folder["int8"]).ExitCode);
        var result = Cli.Run("merge", "--base", folder["int8"], "--adapter", folder["none"], "--out", folder["merged"]);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: ", result.Stderr);
    }
}
