using Dromedary.Kernels;
using Dromedary.Model.Llama;
using Dromedary.Training.Metrics;
using Dromedary.Training.Pretraining;
using Xunit;

namespace Dromedary.Tests.Training.Pretraining;

/// <summary>`dromedary pretrain` end to end on a tiny config and corpus, and its resume.</summary>
public class PretrainCommandTests
{
    private const string Config = """
        {"model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_attention_heads": 4, "num_key_value_heads": 2,
         "num_hidden_layers": 2, "vocab_size": 520, "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "tie_word_embeddings": true}
        """;

    private static string Tokenizer => Path.Combine(Fixtures.TinyLlama("f32"), "tokenizer.model");

    private static (string Config, string Corpus) Inputs(TempDirectory temp)
    {
        File.WriteAllText(temp["config.json"], Config);
        var documents = Enumerable.Range(0, 8).Select(i => $"### User\nCount to {i}.\n\n### Dromedary\n{string.Join(", ", Enumerable.Range(1, i + 1))}.");
        File.WriteAllText(temp["corpus.txt"], string.Join($"\n{PretrainingCorpus.DocumentSeparator}\n", documents) + "\n");
        return (temp["config.json"], temp["corpus.txt"]);
    }

    [Fact]
    public void Pretrain_writes_a_model_that_loads_and_generates_and_its_loss_falls()
    {
        using var temp = new TempDirectory();
        var (config, corpus) = Inputs(temp);
        var output = temp["run"];
        var result = Cli.Cli.Run("pretrain", "--config", config, "--tokenizer", Tokenizer, "--corpus", corpus, "--seq-len", "24",
            "--batch", "4", "--steps", "25", "--lr", "1e-2", "--warmup", "2", "--checkpoint-every", "10", "--out", output);
        Assert.True(result.ExitCode == 0, result.Stderr);

        var steps = MetricsLog.Read(Path.Combine(output, Pretrainer.MetricsFile));
        Assert.Equal(Enumerable.Range(0, 25), steps.Select(s => s.Step));
        Assert.True(steps[^1].Loss < 0.6 * steps[0].Loss, $"loss went from {steps[0].Loss} to {steps[^1].Loss}");
        Assert.True(File.Exists(Path.Combine(output, Pretrainer.PlotFile)));

        using var kernels = KernelRegistry.Create("cpu", 2);
        using (var model = LlamaModel.Load(output, kernels, new ModelLoadOptions(Precision.Fp32)))
            Assert.True(model.Config.TieWordEmbeddings);
        var generated = Cli.Cli.Run("generate", "--model", output, "--precision", "fp32", "--prompt", "### User\nCount to 3.", "--max-new-tokens", "8");
        Assert.True(generated.ExitCode == 0, generated.Stderr);
    }

    [Fact]
    public void A_resumed_run_ends_bit_for_bit_where_an_uninterrupted_one_does()
    {
        using var temp = new TempDirectory();
        var (config, corpus) = Inputs(temp);
        PretrainingOptions Options(string folder) => new()
        {
            ConfigPath = config, TokenizerPath = Tokenizer, CorpusPath = corpus, OutputFolder = folder, SequenceLength = 16, Batch = 2,
            Steps = 6, LearningRate = 1e-2, WarmupSteps = 2, CheckpointEvery = 1, OutputType = ScalarType.F32,
        };
        var whole = Pretrainer.Run(Options(temp["whole"]), null, TestContext.Current.CancellationToken);

        using var stop = new CancellationTokenSource();
        var progress = new SynchronousProgress(p => { if (p.Step == 3) stop.Cancel(); });
        Pretrainer.Run(Options(temp["parts"]), progress, stop.Token);
        Assert.False(File.Exists(Path.Combine(temp["parts"], "model.safetensors")));
        var resumed = Pretrainer.Run(Options(temp["parts"]) with { Resume = true }, null, TestContext.Current.CancellationToken);

        Assert.Equal(whole, resumed);
        Assert.Equal(File.ReadAllBytes(Path.Combine(temp["whole"], "model.safetensors")), File.ReadAllBytes(Path.Combine(temp["parts"], "model.safetensors")));
        Assert.Equal(MetricsLog.Read(Path.Combine(temp["whole"], Pretrainer.MetricsFile)).Select(s => s.Loss),
            MetricsLog.Read(Path.Combine(temp["parts"], Pretrainer.MetricsFile)).Select(s => s.Loss));
    }

    /// <summary>
    /// --init starts from given weights: with a zero learning rate the run writes them back unchanged, and its first
    /// loss is the trained model's, well below a random start's on the same windows.
    /// </summary>
    [Fact]
    public void Init_starts_from_the_given_weights()
    {
        using var temp = new TempDirectory();
        var (config, corpus) = Inputs(temp);
        PretrainingOptions Options(string folder, double lr, int steps) => new()
        {
            ConfigPath = config, TokenizerPath = Tokenizer, CorpusPath = corpus, OutputFolder = folder, SequenceLength = 16, Batch = 2,
            Steps = steps, LearningRate = lr, WarmupSteps = 0, Schedule = "constant", OutputType = ScalarType.F32,
        };
        var cancel = TestContext.Current.CancellationToken;
        Pretrainer.Run(Options(temp["trained"], 1e-2, 20), null, cancel);
        var trained = Path.Combine(temp["trained"], "model.safetensors");
        Pretrainer.Run(Options(temp["kept"], 0, 2) with { InitialWeights = trained }, null, cancel);
        Pretrainer.Run(Options(temp["random"], 0, 2), null, cancel);

        Assert.Equal(File.ReadAllBytes(trained), File.ReadAllBytes(Path.Combine(temp["kept"], "model.safetensors")));
        var fromTrained = MetricsLog.Read(Path.Combine(temp["kept"], Pretrainer.MetricsFile))[0].Loss;
        var fromRandom = MetricsLog.Read(Path.Combine(temp["random"], Pretrainer.MetricsFile))[0].Loss;
        Assert.True(fromTrained < 0.6 * fromRandom, $"first loss {fromTrained} from the trained weights, {fromRandom} from random ones");

        var missing = Cli.Cli.Run("pretrain", "--config", config, "--tokenizer", Tokenizer, "--corpus", corpus, "--seq-len", "16",
            "--init", temp["none.safetensors"], "--out", temp["run"]);
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith($"error: {temp["none.safetensors"]}: not found", missing.Stderr.Trim());
        File.WriteAllText(temp["other.json"], Config.Replace("\"hidden_size\": 32", "\"hidden_size\": 16"));
        var wrongShape = Cli.Cli.Run("pretrain", "--config", temp["other.json"], "--tokenizer", Tokenizer, "--corpus", corpus, "--seq-len", "16",
            "--init", trained, "--out", temp["run2"]);
        Assert.Equal(1, wrongShape.ExitCode);
        Assert.Single(wrongShape.Stderr.Trim().Split('\n'));
        Assert.Contains("model.embed_tokens.weight", wrongShape.Stderr);
    }

    [Fact]
    public void Bad_input_is_a_one_line_error()
    {
        using var temp = new TempDirectory();
        var (config, _) = Inputs(temp);
        var missing = Cli.Cli.Run("pretrain", "--config", config, "--tokenizer", Tokenizer, "--corpus", temp["none.txt"], "--seq-len", "16", "--out", temp["run"]);
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal($"error: {temp["none.txt"]}: corpus file not found.", missing.Stderr.Trim());

        File.WriteAllText(temp["short.txt"], "hi");
        var tooShort = Cli.Cli.Run("pretrain", "--config", config, "--tokenizer", Tokenizer, "--corpus", temp["short.txt"], "--seq-len", "32", "--out", temp["run"]);
        Assert.Equal(1, tooShort.ExitCode);
        Assert.Single(tooShort.Stderr.Trim().Split('\n'));
        Assert.Contains("fewer than one window", tooShort.Stderr);
    }

    private sealed class SynchronousProgress(Action<PretrainingProgress> report) : IProgress<PretrainingProgress>
    {
        public void Report(PretrainingProgress value) => report(value);
    }
}
