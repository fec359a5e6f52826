using System.Text.Json;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Lora;
using Dromedary.Training.Lora;
using Xunit;

namespace Dromedary.Tests.Lora;

/// <summary>One LoRA projection against torch autograd (tests/fixtures/lora/make_lora_fixture.py), and PEFT's init.</summary>
public sealed class LoraLinearTests
{
    private sealed record Reference(int N, int In, int Out, int R, double Alpha, float[] X, float[] W, float[] A, float[] B, float[] Dy,
        double[] Y, double[] Dx, double[] Da, double[] Db, double KaimingBound);

    private static Reference Load() => JsonSerializer.Deserialize<Reference>(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "lora", "lora_linear.json")),
        new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!;

    /// <summary>fp32 sums of a dozen terms of size ~1 against float64: a few ulps.</summary>
    private const double Tolerance = 2e-5;

    private static void AssertClose(double[] expected, ReadOnlySpan<float> actual, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"{name}[{i}]: torch {expected[i]}, ours {actual[i]}");
    }

    [Fact]
    public void Lora_projection_matches_torch_autograd()
    {
        var f = Load();
        using var set = (CpuKernelSet)KernelRegistry.Create("cpu", 2);
        using var weight = Fp32Weight.Create(LinearSource.Fp32(f.W, f.Out, f.In));
        var lora = new LoraMatrices(0, LoraTarget.Query, f.R, f.In, f.Out, (float)(f.Alpha / f.R));
        f.A.CopyTo(lora.A, 0);
        f.B.CopyTo(lora.B, 0);
        var scratch = new Dictionary<string, float[]>
        {
            ["dropped"] = new float[f.N * f.In], ["base input gradient"] = new float[f.N * f.In],
            ["low"] = new float[f.N * f.R], ["low gradient"] = new float[f.N * f.R],
        };
        using var work = new LoraWorkspace(set, scratch, new LoraDropout(0, 0));
        var projection = new LoraLinear(set, weight, lora);
        // One sequence of N rows: without dropout the block only sizes the rows.
        var block = new TokenBlock(new int[f.N], new int[f.N], new int[f.N], f.N + 1, vocabSize: 1);
        block.Pack([new TrainingSequence(new int[f.N + 1], new int[f.N + 1])], 0, 0, 0);
        Assert.Equal(f.N, block.Tokens);

        var y = new float[f.N * f.Out];
        projection.Forward(work, f.X, f.N, y, block);
        AssertClose(f.Y, y, "y");

        var dx = new float[f.N * f.In];
        var dA = new float[lora.A.Length];
        var dB = new float[lora.B.Length];
        projection.Backward(work, f.X, f.Dy, f.N, dx, false, dA, dB, block);
        AssertClose(f.Dx, dx, "dx");
        AssertClose(f.Da, dA, "dA");
        AssertClose(f.Db, dB, "dB");

        // A second backward adds to the weight gradients, and to dx when asked to.
        projection.Backward(work, f.X, f.Dy, f.N, dx, true, dA, dB, block);
        AssertClose(f.Dx.Select(v => 2 * v).ToArray(), dx, "2·dx");
        AssertClose(f.Da.Select(v => 2 * v).ToArray(), dA, "2·dA");
        AssertClose(f.Db.Select(v => 2 * v).ToArray(), dB, "2·dB");
    }

    [Fact]
    public void New_adapters_start_as_Lora_in_Peft()
    {
        var f = Load();
        Assert.Equal(1 / Math.Sqrt(f.In), f.KaimingBound, 12);
        var model = new LlamaConfig { HiddenSize = 64, IntermediateSize = 160, Heads = 4, KvHeads = 2, Layers = 2, VocabSize = 100 };
        var adapter = LoraAdapter.Create(new LoraConfig { Targets = LoraTargets.All }, model, 42);
        Assert.Equal(2 * 7, adapter.Matrices.Count);
        foreach (var m in adapter.Matrices)
        {
            var bound = 1 / Math.Sqrt(m.In);
            Assert.All(m.A, v => Assert.True(Math.Abs(v) <= bound));
            Assert.True(m.A.Max(v => Math.Abs(v)) > 0.9 * bound, $"{m.TensorName('A')} does not fill ±1/√in");
            Assert.All(m.B, v => Assert.Equal(0f, v));
        }
        var again = LoraAdapter.Create(new LoraConfig { Targets = LoraTargets.All }, model, 42);
        Assert.Equal(adapter.Matrices[5].A, again.Matrices[5].A);
        Assert.NotEqual(adapter.Matrices[5].A, LoraAdapter.Create(new LoraConfig { Targets = LoraTargets.All }, model, 43).Matrices[5].A);
    }

    [Fact]
    public void Dropout_zeroes_a_fraction_p_and_scales_the_rest()
    {
        const double p = 0.05;
        var dropout = new LoraDropout(p, 3);
        var values = Enumerable.Repeat(1f, 200_001).ToArray();
        var stream = dropout.Stream(new DropoutKey(7, 3), 4, LoraTarget.Value);
        dropout.Apply(values, stream);
        var dropped = values.Count(v => v == 0);
        Assert.InRange(dropped / (double)values.Length, p - 0.003, p + 0.003);
        Assert.All(values, v => Assert.True(v == 0 || v == (float)(1 / (1 - p))));

        var again = Enumerable.Repeat(1f, values.Length).ToArray();
        dropout.Apply(again, stream);
        Assert.Equal(values, again);
        Assert.NotEqual(stream, dropout.Stream(new DropoutKey(7, 3), 4, LoraTarget.Query));
        Assert.NotEqual(stream, dropout.Stream(new DropoutKey(7, 2), 4, LoraTarget.Value));
        Assert.NotEqual(stream, new LoraDropout(p, 4).Stream(new DropoutKey(7, 3), 4, LoraTarget.Value));
    }

    /// <summary>The mask is SplitMix64's bits as a plain loop reads them, whatever the length (vector lanes and tail).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(1000)]
    public void Dropout_masks_are_the_scalar_generators_bits(int length)
    {
        const double p = 0.3;
        var dropout = new LoraDropout(p, 11);
        var stream = dropout.Stream(new DropoutKey(1, 2), 3, LoraTarget.Key);
        var values = Enumerable.Range(1, length).Select(v => (float)v).ToArray();
        var expected = values.ToArray();
        var random = new SplitMix64(stream);
        for (var i = 0; i < expected.Length; i += 2)
        {
            var bits = random.Next();
            for (var half = 0; half < 2 && i + half < expected.Length; half++)
                expected[i + half] = (uint)(bits >> (32 * half)) < (uint)(p * 4294967296.0) ? 0 : expected[i + half] * (float)(1 / (1 - p));
        }
        dropout.Apply(values, stream);
        Assert.Equal(expected, values);
    }
}
