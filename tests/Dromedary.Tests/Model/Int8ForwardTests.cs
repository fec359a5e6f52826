using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Quantization;
using Xunit;

namespace Dromedary.Tests.Model;

/// <summary>
/// The int8 path (int8 weights per row or group, activations quantized per block of 128 at each matmul) against
/// the reference script's own float64 implementation of the same scheme, and against the exact model.
/// </summary>
public class Int8ForwardTests
{
    /// <summary>
    /// Against the same scheme in float64 most positions agree to about 1e-7. But the C# side computes
    /// activations in fp32, so once in a while an activation within a hair of a rounding boundary lands one int8
    /// step away; through the KV cache that moves later positions by up to about 0.02 (seen once in these texts).
    /// So: the median position must agree as closely as fp32 allows, and none may be off by more than a flip.
    /// </summary>
    private const double MedianTolerance = 1e-5, FlipTolerance = 0.05;

    /// <summary>
    /// Against the exact model: int8 weights carry about 0.4% relative error on these Gaussian weights (a step of
    /// absmax/127 ≈ 3σ/127), five times bf16's, and activations add as much again; through 3 layers and a random
    /// 520-way head that measured up to 0.07 nats. The bound catches a broken scheme, not noise.
    /// </summary>
    private const double ExactModelTolerance = 0.15;

    [Theory]
    [InlineData("cpu", 0, "row")]
    [InlineData("cpu-portable", 0, "row")]
    [InlineData("cpu", 128, "group128")]
    [InlineData("cpu-portable", 128, "group128")]
    public void Int8_path_matches_the_reference_int8_scheme(string kernels, int group, string scheme)
    {
        using var loaded = ForwardTests.Load("f32", Precision.Int8, kernels, group: group);
        var exact = Fixtures.ReferenceLogprobs("f32");
        var references = Fixtures.ReferenceInt8Logprobs(scheme);
        for (var i = 0; i < references.Length; i++)
        {
            var actual = Scoring.TokenLogProbs(loaded.Model, references[i].Tokens);
            var errors = actual.Select((a, k) => Math.Abs(a - references[i].Logprobs[k])).Order().ToArray();
            Assert.True(errors[errors.Length / 2] < MedianTolerance && errors[^1] < FlipTolerance,
                $"'{references[i].Text}': median {errors[errors.Length / 2]}, max {errors[^1]} from the int8 reference");
            var quantizationNoise = ForwardTests.MaxError(actual, exact[i].Logprobs);
            Assert.True(quantizationNoise is > 1e-4 and < ExactModelTolerance, $"'{references[i].Text}': {quantizationNoise} from the exact model");
        }
    }

    [Fact]
    public void Vnni_and_portable_kernels_agree()
    {
        var tokens = Fixtures.ReferenceLogprobs("f32")[3].Tokens;
        using var vnni = ForwardTests.Load("f32", Precision.Int8, "cpu");
        using var portable = ForwardTests.Load("f32", Precision.Int8, "cpu-portable");
        var a = Scoring.TokenLogProbs(vnni.Model, tokens);
        var b = Scoring.TokenLogProbs(portable.Model, tokens);
        for (var i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 1e-4);
    }

    [Theory]
    [InlineData("f32", 0)]
    [InlineData("sharded", 128)]
    [InlineData("bf16", 0)]
    public void A_quantized_checkpoint_loads_to_the_same_model_as_quantizing_at_load(string variant, int group)
    {
        using var dir = new TempDirectory();
        var output = Path.Combine(dir.Path, "int8");
        CheckpointQuantizer.Run(Fixtures.TinyLlama(variant), output, group);
        Assert.True(File.Exists(Path.Combine(output, "config.json")));
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.model")));
        Assert.Equal(variant == "sharded", File.Exists(Path.Combine(output, "model.safetensors.index.json")));

        var tokens = Fixtures.ReferenceLogprobs("f32")[1].Tokens;
        using var atLoad = ForwardTests.Load(variant, Precision.Int8, group: group);
        using var stored = LlamaModel.Load(output, atLoad.Kernels, new ModelLoadOptions(Precision.Int8));
        Assert.Equal(Scoring.TokenLogProbs(atLoad.Model, tokens), Scoring.TokenLogProbs(stored, tokens));
        using var fp32 = ForwardTests.Load(variant, Precision.Fp32);
        Assert.True(stored.LinearBytes * 2 < fp32.Model.LinearBytes, $"int8 {stored.LinearBytes} bytes vs fp32 {fp32.Model.LinearBytes}");
    }

    [Fact]
    public void An_int8_checkpoint_is_refused_for_fp32_and_for_requantizing()
    {
        using var dir = new TempDirectory();
        var output = Path.Combine(dir.Path, "int8");
        CheckpointQuantizer.Run(Fixtures.TinyLlama("f32"), output, 0);
        using var kernels = Dromedary.Kernels.KernelRegistry.Create("cpu", 1);
        var fp32 = Assert.Throws<DromedaryException>(() => LlamaModel.Load(output, kernels, new ModelLoadOptions(Precision.Fp32)));
        Assert.Contains("stored as int8", fp32.Message);
        var again = Assert.Throws<DromedaryException>(() => CheckpointQuantizer.Run(output, Path.Combine(dir.Path, "again"), 0));
        Assert.Contains("already holds int8", again.Message);
    }
}
