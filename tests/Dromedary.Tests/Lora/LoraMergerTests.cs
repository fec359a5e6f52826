using Dromedary.Kernels;
using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Quantization;
using Dromedary.Model.Safetensors;
using Dromedary.Tests.Model;
using Xunit;

namespace Dromedary.Tests.Lora;

/// <summary>
/// Merged checkpoints against the base model with the adapter applied at load (fp32), which LoraAdapterFileTests
/// checks against the adapter's own branch: the same log-probs up to the merged file's rounding.
/// </summary>
public sealed class LoraMergerTests(ITestOutputHelper output)
{
    private static readonly int[] Tokens = Fixtures.ReferenceLogprobs("f32")[2].Tokens;

    private static float[] LogProbs(string folder, LoraAdapter? adapter = null)
    {
        using var set = KernelRegistry.Create("cpu", 1);
        using var model = LlamaModel.Load(folder, set, new ModelLoadOptions(Precision.Fp32, 0, adapter));
        return Scoring.TokenLogProbs(model, Tokens);
    }

    private static (TempDirectory Folder, LoraAdapter Adapter) SavedAdapter()
    {
        var folder = new TempDirectory();
        var adapter = LoraFixtures.RandomAdapter(Fixtures.TinyModelConfig, LoraFixtures.Config());
        adapter.Save(folder["adapter"]);
        return (folder, adapter);
    }

    /// <param name="tolerance">
    /// f32: only the order of fp32 additions differs. f16 keeps 11 significant bits, so every weight moves by up to
    /// 2⁻¹² of itself; the fixture's own f16 copy is 2.3e-3 from f32 in log-probs (reference_logprobs.json), and
    /// the merged f16 file gets 4× that. bf16 keeps 8 bits (its fixture copy is 1.9e-2 off): 4× that.
    /// </param>
    [Theory]
    [InlineData("f32", ScalarType.F32, 1e-4)]
    [InlineData("f32", ScalarType.F16, 1e-2)]
    [InlineData("sharded", ScalarType.BF16, 8e-2)]
    public void The_merged_checkpoint_scores_as_base_plus_adapter(string variant, ScalarType dtype, double tolerance)
    {
        var (folder, adapter) = SavedAdapter();
        using var _ = folder;
        LoraMerger.Run(Fixtures.TinyLlama(variant), folder["adapter"], folder["merged"], dtype);

        var expected = LogProbs(Fixtures.TinyLlama("f32"), adapter);
        var merged = LogProbs(folder["merged"]);
        var error = ForwardTests.MaxError(merged, expected.Select(x => (double)x).ToArray());
        output.WriteLine($"{variant} → {dtype}: largest log-prob difference {error:E2}; the adapter moves them by {ForwardTests.MaxError(LogProbs(Fixtures.TinyLlama("f32")), expected.Select(x => (double)x).ToArray()):E2}");
        Assert.True(error <= tolerance, $"merged log-probs differ by {error}");
        using var checkpoint = Checkpoint.Open(folder["merged"]);
        Assert.All(checkpoint.Tensors, t => Assert.Equal(dtype, t.Type));
        Assert.Equal(variant == "sharded" ? 2 : 1, checkpoint.Files.Count);
        Assert.True(File.Exists(Path.Combine(folder["merged"], "tokenizer.model")));
    }

    [Fact]
    public void An_int8_base_is_refused()
    {
        var (folder, _) = SavedAdapter();
        using var __ = folder;
        CheckpointQuantizer.Run(Fixtures.TinyLlama("f32"), folder["int8"], 0);
        var error = Assert.Throws<DromedaryException>(() => LoraMerger.Run(folder["int8"], folder["adapter"], folder["merged"], ScalarType.F16));
        Assert.Contains("int8", error.Message);
        Assert.Contains("original F16, BF16 or F32 checkpoint", error.Message);
        Assert.False(Directory.Exists(folder["merged"]));
    }
}
