using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Kernels.Gpu;
using Dromedary.Training.Lora;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>
/// The ILGPU training kernels (backward of every op, the LoRA GEMM forms, cross-entropy, AdamW, the gradient
/// norm, dropout) on ILGPU's CPU accelerator against the CPU set's kernels (or naive loops where the CPU set has no
/// such entry) on the same inputs, at tiny odd shapes. Floats are compared to 1e-5 of the largest expected value of
/// the array: both sides compute in fp32 but sum in different orders, and the GPU's exp and log are approximations,
/// so results differ by a few ulps of the terms summed (~1e-7 relative); a wrong index or a missing term is off by
/// the size of a term. The masks of dropout and the rounding of elementwise ops are compared exactly where both
/// sides do the very same operations.
/// </summary>
[Collection(GpuSimulatorCollection.Name)]
public sealed class GpuBackwardTests(GpuSimulatorFixture fixture)
{
    private const double Tolerance = 1e-5;

    private Accelerator Accelerator => fixture.Gpu.Runtime.Accelerator;

    private static float[] RandomFloats(Random random, int count, double scale = 1)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }

    private static void AssertNear(float[] expected, float[] actual, double tolerance = Tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = expected.Max(v => Math.Abs((double)v));
        Assert.True(scale > 0, "the expected values are all zero: the test would prove nothing");
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs((double)expected[i] - actual[i]) <= tolerance * scale, $"[{i}] cpu {expected[i]}, ilgpu {actual[i]} (scale {scale})");
    }

    private MemoryBuffer1D<T, Stride1D.Dense> Device<T>(T[] values) where T : unmanaged => Accelerator.Allocate1D(values);

    [Fact]
    public void RmsNorm_backward_matches_the_cpu()
    {
        const int rows = 3, cols = 150;
        const float eps = 1e-6f;
        var random = new Random(1);
        float[] x = RandomFloats(random, rows * cols, 3), weight = RandomFloats(random, cols, 2), dy = RandomFloats(random, rows * cols);
        var expected = new float[rows * cols];
        CpuRmsNorm.Backward(x, weight, eps, rows, dy, expected);
        using var gx = Device(x);
        using var gw = Device(weight);
        using var gdy = Device(dy);
        new GpuRmsNorm(Accelerator).Backward(gx.View, gw.View, eps, rows, gdy.View, gdy.View); // in place, as the engine runs it
        AssertNear(expected, gdy.GetAsArray1D());
    }

    [Fact]
    public void Rope_backward_matches_the_cpu()
    {
        const int rows = 3, heads = 2, headDim = 8, maxPositions = 16;
        int[] positions = [5, 0, 15];
        var table = new CpuRopeTable(headDim, 10000, maxPositions);
        var dx = RandomFloats(new Random(2), rows * heads * headDim);
        var expected = (float[])dx.Clone();
        CpuRope.ApplyBackward(expected, rows, heads, headDim, positions, table);
        var cos = Enumerable.Range(0, maxPositions).SelectMany(p => table.Cos(p).ToArray()).ToArray();
        var sin = Enumerable.Range(0, maxPositions).SelectMany(p => table.Sin(p).ToArray()).ToArray();
        using var gdx = Device(dx);
        using var gp = Device(positions);
        using var gcos = Device(cos);
        using var gsin = Device(sin);
        new GpuRope(Accelerator).ApplyBackward(gdx.View, gp.View, gcos.View, gsin.View, heads, headDim);
        AssertNear(expected, gdx.GetAsArray1D());
    }

    [Fact]
    public void SwiGlu_backward_matches_the_cpu()
    {
        const int count = 2 * 75;
        var random = new Random(3);
        float[] gate = RandomFloats(random, count, 8), up = RandomFloats(random, count, 3), dOut = RandomFloats(random, count);
        (gate[0], gate[1], gate[2]) = (-100, 100, 0);
        float[] dGate = new float[count], dUp = new float[count];
        CpuSwiGlu.Backward(gate, up, dOut, dGate, dUp);
        using var gg = Device(gate);
        using var gu = Device(up);
        using var gd = Device(dOut);
        using var gdg = Accelerator.Allocate1D<float>(count);
        using var gdu = Accelerator.Allocate1D<float>(count);
        new GpuSwiGlu(Accelerator).Backward(gg.View, gu.View, gd.View, gdg.View, gdu.View);
        AssertNear(dGate, gdg.GetAsArray1D());
        AssertNear(dUp, gdu.GetAsArray1D());
    }

    /// <summary>
    /// Training's shape (from position 0), a continued cache (start 130: more than one tile of keys), grouped-query
    /// heads, and a head dimension over 128 (two dimensions per thread).
    /// </summary>
    [Theory]
    [InlineData(7, 0, 8)]
    [InlineData(3, 130, 8)]
    [InlineData(2, 1, 136)]
    public void Attention_backward_matches_the_cpu(int rows, int startPosition, int headDim)
    {
        const int heads = 4, kvHeads = 2;
        var context = startPosition + rows;
        var random = new Random(4 + startPosition);
        var q = RandomFloats(random, rows * heads * headDim, 2);
        var keys = RandomFloats(random, context * kvHeads * headDim);
        var values = RandomFloats(random, context * kvHeads * headDim);
        var dOut = RandomFloats(random, rows * heads * headDim);
        float[] dQ = new float[q.Length], dK = new float[keys.Length], dV = new float[values.Length];
        using (var pool = new WorkerPool(1))
            new CpuAttention(pool).Backward(q, keys, values, rows, startPosition, heads, kvHeads, headDim, dOut, dQ, dK, dV);

        using var partials = Accelerator.Allocate1D<float>(2 * rows * heads);
        using var gq = Device(q);
        using var gk = Device(keys);
        using var gv = Device(values);
        using var gdo = Device(dOut);
        using var gdq = Accelerator.Allocate1D<float>(q.Length);
        using var gdk = Accelerator.Allocate1D<float>(keys.Length);
        using var gdv = Accelerator.Allocate1D<float>(values.Length);
        new GpuAttention(Accelerator, partials.View).Backward(gq.View, gk.View, gv.View, rows, startPosition, heads, kvHeads, headDim,
            gdo.View, gdq.View, gdk.View, gdv.View);
        AssertNear(dQ, gdq.GetAsArray1D());
        AssertNear(dK, gdk.GetAsArray1D());
        AssertNear(dV, gdv.GetAsArray1D());
    }

    /// <summary>Packed sequences of 3, 1 and 5 tokens: forward and backward as the CPU's segmented attention.</summary>
    [Fact]
    public void Segmented_attention_matches_the_cpu()
    {
        const int heads = 4, kvHeads = 2, headDim = 8, rows = 9;
        int[] bounds = [0, 3, 4, 9];
        var random = new Random(12);
        var q = RandomFloats(random, rows * heads * headDim, 2);
        var keys = RandomFloats(random, rows * kvHeads * headDim);
        var values = RandomFloats(random, keys.Length);
        var dOut = RandomFloats(random, q.Length);
        float[] output = new float[q.Length], dQ = new float[q.Length], dK = new float[keys.Length], dV = new float[values.Length];
        using (var pool = new WorkerPool(1))
        {
            var attention = new CpuAttention(pool);
            CpuSegmentedAttention.Forward(attention, q, keys, values, bounds, heads, kvHeads, headDim, output);
            CpuSegmentedAttention.Backward(attention, q, keys, values, bounds, heads, kvHeads, headDim, dOut, dQ, dK, dV);
        }

        using var partials = Accelerator.Allocate1D<float>(2 * rows * heads);
        var gpu = new GpuAttention(Accelerator, partials.View);
        // In: q, keys, values, dOut. Out: output, dQ, dKeys, dValues.
        var buffers = new[] { q, keys, values, dOut }.Select(Device<float>)
            .Concat(new[] { q.Length, q.Length, keys.Length, values.Length }.Select(n => Accelerator.Allocate1D<float>(n))).ToArray();
        try
        {
            var v = buffers.Select(b => b.View).ToArray();
            GpuSegmentedAttention.Forward(gpu, v[0], v[1], v[2], bounds, heads, kvHeads, headDim, v[4]);
            GpuSegmentedAttention.Backward(gpu, v[0], v[1], v[2], bounds, heads, kvHeads, headDim, v[3], v[5], v[6], v[7]);
            foreach (var (expected, i) in new[] { (output, 4), (dQ, 5), (dK, 6), (dV, 7) }) AssertNear(expected, buffers[i].GetAsArray1D());
        }
        finally
        {
            foreach (var buffer in buffers) buffer.Dispose();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    public void Fp32_linear_input_gradient_matches_the_cpu(int rows)
    {
        const int inputs = 37, outputs = 70;
        var random = new Random(5 + rows);
        var weights = RandomFloats(random, outputs * inputs);
        var dY = RandomFloats(random, rows * outputs);
        var expected = new float[rows * inputs];
        using (var pool = new WorkerPool(1))
        using (var matmul = new Fp32MatMul(pool))
        using (var weight = Fp32Weight.Create(LinearSource.Fp32(weights, outputs, inputs)))
            matmul.BackwardInput(dY, rows, weight, expected);
        using var arena = new DeviceArena(Accelerator);
        using var staging = new HostStaging(Accelerator);
        using var gw = GpuFp32Weight.Create(arena, staging, LinearSource.Fp32(weights, outputs, inputs));
        using var gdy = Device(dY);
        using var gdx = Accelerator.Allocate1D<float>(expected.Length);
        new GpuFp32MatMul(Accelerator).BackwardInput(gdy.View, rows, gw, gdx.View);
        AssertNear(expected, gdx.GetAsArray1D());
    }

    /// <summary>Per-row scales and groups of 128 over 200 inputs (a padded last block), outputs not a multiple of 64.</summary>
    [Theory]
    [InlineData(3, 200)]
    [InlineData(9, 128)]
    public void Int8_linear_input_gradient_matches_the_cpu(int rows, int groupSize)
    {
        const int inputs = 200, outputs = 70;
        var random = new Random(6 + rows);
        var weights = RandomFloats(random, outputs * inputs);
        var quantized = new sbyte[weights.Length];
        var scales = new float[outputs * Int8Quantizer.GroupCount(inputs, groupSize)];
        Int8Quantizer.Quantize(weights, outputs, inputs, groupSize, quantized, scales);
        var source = LinearSource.Int8(quantized, scales, outputs, inputs, groupSize);
        var dY = RandomFloats(random, rows * outputs);
        var expected = new float[rows * inputs];
        using (var pool = new WorkerPool(1))
        using (var matmul = new Int8MatMul(pool, Int8Kernel.Portable))
        using (var weight = Int8Weight.Create(source))
            matmul.BackwardInput(dY, rows, weight, expected);
        using var arena = new DeviceArena(Accelerator);
        using var staging = new HostStaging(Accelerator);
        using var gw = GpuInt8Weight.Create(arena, staging, source);
        using var gdy = Device(dY);
        using var gdx = Accelerator.Allocate1D<float>(expected.Length);
        using var gpu = new GpuInt8MatMul(Accelerator, GpuInt8Variant.Simt);
        gpu.BackwardInput(gdy.View, rows, gw, gdx.View);
        AssertNear(expected, gdx.GetAsArray1D());
    }

    /// <summary>The three GEMM forms the LoRA branch uses, scaled and accumulated, against naive double loops.</summary>
    [Fact]
    public void Gemm_forms_match_naive_loops()
    {
        const int rows = 19, inputs = 37, outputs = 5;
        const float scale = 2.5f;
        var random = new Random(7);
        var x = RandomFloats(random, rows * inputs);
        var xT = RandomFloats(random, inputs * rows);
        var wT = RandomFloats(random, outputs * inputs);
        var w = RandomFloats(random, inputs * outputs);
        var initial = RandomFloats(random, rows * outputs);
        float[] Naive(Func<int, int, double> left, Func<int, int, double> right, bool accumulate)
        {
            var y = new float[rows * outputs];
            for (var r = 0; r < rows; r++)
            for (var c = 0; c < outputs; c++)
            {
                var sum = 0.0;
                for (var k = 0; k < inputs; k++) sum += left(r, k) * right(c, k);
                y[r * outputs + c] = (float)(scale * sum + (accumulate ? initial[r * outputs + c] : 0));
            }
            return y;
        }

        var matmul = new GpuFp32MatMul(Accelerator);
        using var gx = Device(x);
        using var gxT = Device(xT);
        using var gwT = Device(wT);
        using var gw = Device(w);
        using var gy = Device(initial);
        matmul.MultiplyTransposedB(gx.View, gwT.View, gy.View, rows, outputs, inputs, scale, accumulate: true);
        AssertNear(Naive((r, k) => x[r * inputs + k], (c, k) => wT[c * inputs + k], true), gy.GetAsArray1D());
        matmul.Multiply(gx.View, gw.View, gy.View, rows, outputs, inputs, scale);
        AssertNear(Naive((r, k) => x[r * inputs + k], (c, k) => w[k * outputs + c], false), gy.GetAsArray1D());
        gy.View.CopyFromCPU(initial);
        matmul.MultiplyTransposedA(gxT.View, gw.View, gy.View, rows, outputs, inputs, scale, accumulate: true);
        AssertNear(Naive((r, k) => xT[k * rows + r], (c, k) => w[k * outputs + c], true), gy.GetAsArray1D());
    }

    [Fact]
    public void Cross_entropy_matches_the_cpu_and_masks_ignored_rows()
    {
        const int vocab = 300;
        int[] targets = [5, CpuCrossEntropy.IgnoreIndex, 299, 0];
        const float scale = 0.25f;
        var logits = RandomFloats(new Random(8), targets.Length * vocab, 10);
        var expected = new float[logits.Length];
        CpuCrossEntropy.ForwardBackward(logits, vocab, targets, scale, expected, out var lossSum, out var counted);
        using var gl = Device(logits);
        using var gt = Device(targets);
        using var losses = Accelerator.Allocate1D<float>(targets.Length);
        new GpuCrossEntropy(Accelerator).ForwardBackward(gl.View, gt.View, losses.View, vocab, scale);
        AssertNear(expected, gl.GetAsArray1D());
        var rowLosses = losses.GetAsArray1D();
        Assert.Equal(0f, rowLosses[1]);
        Assert.Equal(3, counted);
        Assert.Equal(lossSum, rowLosses.Sum(l => (double)l), 1e-4);
    }

    [Fact]
    public void AdamW_matches_the_cpu_and_clears_the_gradient()
    {
        const int n = 1000;
        const float clip = 0.5f;
        var random = new Random(9);
        var parameters = RandomFloats(random, n);
        var gradient = RandomFloats(random, n, 0.1);
        var m = RandomFloats(random, n, 0.01);
        var v = RandomFloats(random, n, 0.001).Select(Math.Abs).ToArray();
        var options = new AdamWOptions(WeightDecay: 0.1);
        using var gp = Device(parameters);
        using var gg = Device(gradient);
        using var gm = Device(m);
        using var gv = Device(v);
        new GpuAdamW(Accelerator, options).Step(gp.View, gg.View, gm.View, gv.View, 1e-3, 3, clip);
        using (var pool = new WorkerPool(1))
        {
            GradientNorm.Scale(gradient, clip);
            new CpuAdamW(pool, options).Step(parameters, gradient, m, v, 1e-3, 3);
        }
        AssertNear(parameters, gp.GetAsArray1D());
        AssertNear(m, gm.GetAsArray1D());
        AssertNear(v, gv.GetAsArray1D());
        Assert.All(gg.GetAsArray1D(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void Gradient_norm_matches_the_cpu()
    {
        var gradient = RandomFloats(new Random(10), 100_003, 0.01);
        using var arena = new DeviceArena(Accelerator);
        using var norm = new GpuGradientNorm(Accelerator, arena);
        using var gg = Device(gradient);
        var expected = GradientNorm.SumOfSquares(gradient);
        Assert.Equal(expected, norm.SumOfSquares(gg.View), expected * 1e-5);
    }

    /// <summary>The CPU's mask, bit for bit: an odd length (a lone last value) and p = 0.3.</summary>
    [Fact]
    public void Dropout_draws_the_cpus_mask()
    {
        var dropout = new LoraDropout(0.3, 42);
        var stream = dropout.Stream(new DropoutKey(3, 2), 1, Dromedary.Model.Lora.LoraTarget.Up);
        var values = RandomFloats(new Random(11), 1001);
        var expected = (float[])values.Clone();
        dropout.Apply(expected, stream);
        using var gv = Device(values);
        new GpuDropout(Accelerator).Apply(gv.View, stream, dropout.Threshold, dropout.Keep);
        var actual = gv.GetAsArray1D();
        Assert.InRange(expected.Count(v => v == 0), 200, 400);
        Assert.Equal(expected, actual);
    }
}
