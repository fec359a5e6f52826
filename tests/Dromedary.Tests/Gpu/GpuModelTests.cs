using Dromedary.Model.Llama;
using Dromedary.Tests.Model;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>The tiny fixture model through <c>--kernels ilgpu</c> (the simulator here) against the CPU set.</summary>
[Collection(GpuSimulatorCollection.Name)]
public sealed class GpuModelTests
{
    /// <summary>fp32 on both sides: only summation orders and the GPU's exp/log differ (as ForwardTests' 1e-4).</summary>
    private const double Tolerance = 1e-4;

    /// <summary>
    /// "Hello world" (7 tokens) in chunks of 4, so the second chunk attends to a cache filled by the first; fp32
    /// weights, and int8 weights (the int8 matmul itself is bit-exact with the CPU's, so the same bound holds).
    /// </summary>
    [Theory]
    [InlineData(Precision.Fp32)]
    [InlineData(Precision.Int8)]
    public void Tiny_model_log_probs_match_the_cpu_set(Precision precision)
    {
        AssertIlgpuMatchesCpu(Fixtures.ReferenceLogprobs("f32")[0].Tokens, maxChunk: 4, precision);
    }

    /// <summary>Every log-prob row of <paramref name="tokens"/>, with the registry's ilgpu set and the cpu set.</summary>
    internal static void AssertIlgpuMatchesCpu(int[] tokens, int maxChunk, Precision precision = Precision.Fp32)
    {
        using var cpu = ForwardTests.Load("f32", precision);
        using var gpu = ForwardTests.Load("f32", precision, kernels: "ilgpu");
        Assert.Equal("ilgpu", gpu.Kernels.Name);
        var expected = LogProbs(cpu.Model, tokens, maxChunk);
        var actual = LogProbs(gpu.Model, tokens, maxChunk);
        var error = expected.Select((e, i) => Math.Abs(e - actual[i])).Max();
        Assert.True(error < Tolerance, $"largest log-prob difference {error}");
    }

    private static float[] LogProbs(LlamaModel model, int[] tokens, int maxChunk)
    {
        var rows = new float[tokens.Length * model.Config.VocabSize];
        using var session = new LlamaSession(model, tokens.Length, maxChunk);
        session.Forward(tokens, LogitsRows.All, rows);
        return rows;
    }
}
