using System.Text.Json;
using Xunit;

namespace Dromedary.Tests.Cli;

public class CliTests
{
    private static readonly string F32 = Fixtures.TinyLlama("f32");

    private static void AssertCleanError(Cli.Result result, params string[] fragments)
    {
        Assert.NotEqual(0, result.ExitCode);
        Assert.StartsWith("error: ", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
        foreach (var fragment in fragments) Assert.Contains(fragment, result.Stderr);
    }

    [Fact]
    public void Logprobs_json_matches_the_reference()
    {
        var reference = Fixtures.ReferenceLogprobs("f32")[1];
        var result = Cli.Run("logprobs", "--model", F32, "--text", reference.Text, "--precision", "fp32", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(reference.Tokens, json.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()));
        var logprobs = json.RootElement.GetProperty("logprobs").EnumerateArray().Select(t => t.GetDouble()).ToArray();
        Assert.Equal(reference.Logprobs.Length, logprobs.Length);
        for (var i = 0; i < logprobs.Length; i++) Assert.Equal(reference.Logprobs[i], logprobs[i], 1e-4);
    }

    [Fact]
    public void Logprobs_on_the_ilgpu_set_match_the_cpu_set()
    {
        double[] LogProbs(string kernels)
        {
            var result = Cli.Run("logprobs", "--model", F32, "--text", "Hello world", "--kernels", kernels, "--json");
            Assert.True(result.ExitCode == 0, result.Stderr);
            using var json = JsonDocument.Parse(result.Stdout);
            return json.RootElement.GetProperty("logprobs").EnumerateArray().Select(t => t.GetDouble()).ToArray();
        }
        var cpu = LogProbs("cpu");
        var gpu = LogProbs("ilgpu");
        for (var i = 0; i < cpu.Length; i++) Assert.Equal(cpu[i], gpu[i], 1e-4);
    }

    [Fact]
    public void The_tensor_core_set_without_a_gpu_is_a_clean_error()
    {
        Assert.SkipWhen(Dromedary.Kernels.Gpu.IlgpuRuntime.HasCudaDevice(), "a CUDA device is present");
        AssertCleanError(Cli.Run("logprobs", "--model", F32, "--text", "x", "--kernels", "ilgpu-sm80"), "ilgpu-sm80", "compute capability");
    }

    [Fact]
    public void Tokenize_json_prints_ids_with_bos_and_pieces()
    {
        var result = Cli.Run("tokenize", "--model", F32, "--text", "Hello world", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        var ids = json.RootElement.GetProperty("ids").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Equal(Fixtures.ReferenceLogprobs("f32")[0].Tokens, ids);
        Assert.Equal("▁H", json.RootElement.GetProperty("pieces")[1].GetString());
    }

    [Fact]
    public void Generate_streams_text_and_reports_how_it_stopped()
    {
        var result = Cli.Run("generate", "--model", F32, "--prompt", "Hello world", "--max-new-tokens", "6");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.False(string.IsNullOrWhiteSpace(result.Stdout));
        Assert.Contains("6 tokens after a 7-token prompt", result.Stderr);
    }

    [Fact]
    public void Quantize_then_logprobs_on_the_int8_checkpoint()
    {
        using var dir = new TempDirectory();
        var output = Path.Combine(dir.Path, "int8");
        var quantize = Cli.Run("quantize", "--model", F32, "--out", output, "--group", "128");
        Assert.True(quantize.ExitCode == 0, quantize.Stderr);
        var result = Cli.Run("logprobs", "--model", output, "--text", "Hello world", "--json");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("\"logprobs\":[", result.Stdout);
    }

    [Fact]
    public void A_missing_model_folder_is_a_clean_error() =>
        AssertCleanError(Cli.Run("logprobs", "--model", "/no/such/model", "--text", "x"), "/no/such/model");

    [Fact]
    public void An_unknown_kernel_set_lists_the_known_ones() =>
        AssertCleanError(Cli.Run("logprobs", "--model", F32, "--text", "x", "--kernels", "tpu"), "unknown kernel set 'tpu'", "cpu-portable");

    [Fact]
    public void A_bad_precision_is_a_clean_error() =>
        AssertCleanError(Cli.Run("logprobs", "--model", F32, "--text", "x", "--precision", "fp8"), "--precision must be int8 or fp32");

    [Fact]
    public void A_truncated_weights_file_names_the_file()
    {
        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(F32)) File.Copy(file, Path.Combine(dir.Path, Path.GetFileName(file)));
        var weights = Path.Combine(dir.Path, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        AssertCleanError(Cli.Run("logprobs", "--model", dir.Path, "--text", "x"), weights);
    }

    [Fact]
    public void A_wrongly_shaped_tensor_names_the_tensor_and_the_config()
    {
        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(F32)) File.Copy(file, Path.Combine(dir.Path, Path.GetFileName(file)));
        var config = Path.Combine(dir.Path, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"intermediate_size\": 200", "\"intermediate_size\": 208"));
        AssertCleanError(Cli.Run("logprobs", "--model", dir.Path, "--text", "x"), "mlp.gate_proj.weight", "[200, 96]", "[208, 96]");
    }

    [Fact]
    public void Plan_fails_with_the_breakdown_when_the_model_does_not_fit()
    {
        var fits = Cli.Run("plan", "--model", "llama-65b", "--device-memory", "141GB");
        Assert.True(fits.ExitCode == 0, fits.Stderr);
        Assert.Contains("fits in 141GB", fits.Stdout);
        AssertCleanError(Cli.Run("plan", "--model", "llama-65b", "--precision", "fp32", "--device-memory", "141GB"), "needs", "weights");
    }

    [Fact]
    public void Plan_train_auto_prints_the_planners_micro_batch_and_fails_cleanly_when_one_does_not_fit()
    {
        using var kernels = Dromedary.Kernels.KernelRegistry.Create("cpu", 1);
        var options = new Dromedary.Training.Planning.TrainingPlanOptions(Dromedary.Model.Llama.Precision.Int8, 0, new(), 1, 512);
        var (microBatch, _) = Dromedary.Training.Planning.TrainingPlanner.ChooseMicroBatch(
            Dromedary.Model.Config.ModelPresets.Resolve("llama-65b"), kernels, options, 139L << 30, "139 GiB");
        var fits = Cli.Run("plan", "--model", "llama-65b", "--kernels", "cpu", "--train", "--micro-batch", "auto", "--device-memory", "139GiB");
        Assert.True(fits.ExitCode == 0, fits.Stderr);
        Assert.Contains($"micro-batch {microBatch} (the largest power of two that fits)", fits.Stdout);
        AssertCleanError(Cli.Run("plan", "--model", "llama-65b", "--train", "--precision", "fp32", "--micro-batch", "auto", "--device-memory", "139GiB"),
            "needs", "weights", "saved inputs");
        AssertCleanError(Cli.Run("plan", "--model", "llama-65b", "--train", "--targets", "q,x"), "--targets", "'x'");
    }

    [Theory]
    [InlineData("plan")]
    [InlineData("logprobs")]
    [InlineData("generate")]
    [InlineData("tokenize")]
    [InlineData("quantize")]
    [InlineData("info")]
    [InlineData("chat")]
    [InlineData("train")]
    [InlineData("merge")]
    [InlineData("pretrain")]
    [InlineData("self-instruct")]
    [InlineData("tgrt-topics")]
    [InlineData("tgrt-questions")]
    [InlineData("self-align")]
    [InlineData("merge-shards")]
    [InlineData("engrave")]
    [InlineData("verbose-clone")]
    [InlineData("align")]
    [InlineData("demo")]
    [InlineData("eval truthfulqa")]
    [InlineData("eval hhh")]
    [InlineData("eval compare")]
    public void Every_command_has_help(string command)
    {
        // Option descriptions are Spectre markup: a stray "[x]" in one breaks the whole help page.
        var result = Cli.Run([.. command.Split(' '), "--help"]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("USAGE", result.Stdout);
        Assert.Contains("--help", result.Stdout);
    }

    [Fact]
    public void An_unknown_command_is_a_usage_error()
    {
        var result = Cli.Run("bogus");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unknown command 'bogus'", result.Stderr);
    }

    [Fact]
    public void A_missing_option_is_a_usage_error()
    {
        var result = Cli.Run("logprobs", "--text", "x");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--model", result.Stdout + result.Stderr);
    }
}
