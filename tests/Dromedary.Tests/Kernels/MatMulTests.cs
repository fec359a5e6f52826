using System.Runtime.Intrinsics.X86;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Xunit;

namespace Dromedary.Tests.Kernels;

public sealed class MatMulTests
{
    private const int Block = 128;

    public static TheoryData<int, int, int, int> Int8Shapes()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (var rows in new[] { 1, 3, 5, 17 })
        foreach (var cols in new[] { 96, 128, 200, 384 })
        foreach (var outRows in new[] { 7, 33 })
        {
            data.Add(rows, cols, outRows, cols);
            if (cols > Block) data.Add(rows, cols, outRows, Block);
        }
        return data;
    }

    public static TheoryData<int, int, int> Fp32Shapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var rows in new[] { 1, 3, 5, 17 })
        foreach (var cols in new[] { 1, 96, 200, 384 })
        foreach (var outRows in new[] { 7, 33 })
            data.Add(rows, cols, outRows);
        return data;
    }

    [Theory]
    [InlineData(4, 200, 200)]
    [InlineData(4, 200, 128)]
    [InlineData(3, 384, 128)]
    [InlineData(5, 10, 3)]
    public void QuantizerMatchesNaiveLoop(int rows, int cols, int groupSize)
    {
        var w = RandomMatrix(rows, cols, seed: 1);
        Array.Clear(w, cols, cols); // row 1 is all zeros
        var groups = (cols + groupSize - 1) / groupSize;
        var q = new sbyte[rows * cols];
        var scales = new float[rows * groups];
        Int8Quantizer.Quantize(w, rows, cols, groupSize, q, scales);
        for (var r = 0; r < rows; r++)
        {
            for (var g = 0; g < groups; g++)
            {
                var end = Math.Min(cols, (g + 1) * groupSize);
                var absMax = 0f;
                for (var k = g * groupSize; k < end; k++) absMax = MathF.Max(absMax, MathF.Abs(w[r * cols + k]));
                var scale = absMax / 127f;
                Assert.Equal(scale, scales[r * groups + g]);
                for (var k = g * groupSize; k < end; k++)
                {
                    var expected = scale == 0f ? 0 : Math.Clamp(MathF.Round(w[r * cols + k] / scale, MidpointRounding.AwayFromZero), -127, 127);
                    Assert.Equal((sbyte)expected, q[r * cols + k]);
                }
            }
        }
        Assert.All(scales.AsSpan(groups, groups).ToArray(), s => Assert.Equal(0f, s));

        var back = new float[rows * cols];
        Int8Quantizer.Dequantize(q, scales, rows, cols, groupSize, back);
        for (var i = 0; i < back.Length; i++)
        {
            var scale = scales[i / cols * groups + i % cols / groupSize];
            Assert.Equal(q[i] * scale, back[i]);
            Assert.True(MathF.Abs(back[i] - w[i]) <= scale * 0.5001f);
        }
    }

    [Fact]
    public void Int8WeightRejectsGroupsThatSplitActivationBlocks()
    {
        var q = new sbyte[2 * 200];
        var scales = new float[2 * 2];
        var error = Assert.Throws<ArgumentException>(() => Int8Weight.Create(LinearSource.Int8(q, scales, 2, 200, 100)));
        Assert.Contains("multiple of 128", error.Message);
    }

    [Theory]
    [MemberData(nameof(Int8Shapes))]
    public void Int8MatchesSameMathReference(int rows, int cols, int outRows, int groupSize)
    {
        var (x, q, scales) = Int8Problem(rows, cols, outRows, groupSize);
        var (expected, magnitude) = QuantizedReference(x, rows, cols, q, scales, outRows, groupSize);
        using var pool = new WorkerPool(2);
        foreach (var kernel in AvailableKernels())
        {
            var y = RunInt8(pool, kernel, x, rows, q, scales, outRows, cols, groupSize);
            for (var i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - expected[i]) <= 1e-5 * magnitude[i] + 1e-30, $"{kernel} [{i}]: {y[i]} vs {expected[i]}");
        }
    }

    /// <summary>
    /// Both kernels add the same exact block sums with the same fused multiply-adds in the same order, so the
    /// portable kernel is a bit-exact reference for the VNNI one.
    /// </summary>
    [Theory]
    [MemberData(nameof(Int8Shapes))]
    public void VnniEqualsPortableBitwise(int rows, int cols, int outRows, int groupSize)
    {
        Assert.SkipUnless(AvxVnni.IsSupported, "needs AVX-VNNI");
        var (x, q, scales) = Int8Problem(rows, cols, outRows, groupSize);
        using var pool = new WorkerPool(2);
        var vnni = RunInt8(pool, Int8Kernel.Vnni, x, rows, q, scales, outRows, cols, groupSize);
        var portable = RunInt8(pool, Int8Kernel.Portable, x, rows, q, scales, outRows, cols, groupSize);
        Assert.Equal(portable, vnni);
    }

    /// <summary>
    /// Against the unquantized product Σ x·w. With x̂ = qx·sx and ŵ = qw·sw rounded to nearest,
    /// |x − x̂| ≤ sx/2 and |w − ŵ| ≤ sw/2, and x·w − x̂·ŵ = x·(w − ŵ) + ŵ·(x − x̂), so per output
    /// |error| ≤ Σ_k |x_k|·sw_k/2 + |ŵ_k|·sx_k/2. The scales themselves are rounded floats and the sum runs
    /// in fp32, which the 1e-5 · Σ|x·w| slack covers.
    /// </summary>
    [Theory]
    [InlineData(5, 384, 33, 128)]
    [InlineData(17, 200, 7, 200)]
    [InlineData(1, 384, 33, 384)]
    public void Int8StaysWithinQuantizationBoundOfFp32(int rows, int cols, int outRows, int groupSize)
    {
        var x = RandomMatrix(rows, cols, seed: 2);
        var w = RandomMatrix(outRows, cols, seed: 3);
        var groups = (cols + groupSize - 1) / groupSize;
        var q = new sbyte[outRows * cols];
        var scales = new float[outRows * groups];
        Int8Quantizer.Quantize(w, outRows, cols, groupSize, q, scales);
        using var pool = new WorkerPool(2);
        foreach (var kernel in AvailableKernels())
        {
            var y = RunInt8(pool, kernel, x, rows, q, scales, outRows, cols, groupSize);
            for (var i = 0; i < rows; i++)
            {
                var xScales = ActivationScales(x.AsSpan(i * cols, cols));
                for (var j = 0; j < outRows; j++)
                {
                    double exact = 0, bound = 0, magnitude = 0;
                    for (var k = 0; k < cols; k++)
                    {
                        double xk = x[i * cols + k], wk = w[j * cols + k];
                        var sw = scales[j * groups + k / groupSize];
                        exact += xk * wk;
                        magnitude += Math.Abs(xk * wk);
                        bound += Math.Abs(xk) * sw / 2 + Math.Abs(q[j * cols + k] * sw) * xScales[k / Block] / 2;
                    }
                    var error = Math.Abs(y[i * outRows + j] - exact);
                    Assert.True(error <= bound + 1e-5 * magnitude, $"{kernel} ({i},{j}): error {error} > bound {bound}");
                }
            }
        }
    }

    [Fact]
    public void Int8ResultsDoNotDependOnThreadCount()
    {
        const int rows = 17, cols = 384, outRows = 100;
        var (x, q, scales) = Int8Problem(rows, cols, outRows, Block);
        using var one = new WorkerPool(1);
        using var three = new WorkerPool(3);
        foreach (var kernel in AvailableKernels())
        {
            foreach (var r in new[] { 1, rows })
            {
                Assert.Equal(RunInt8(one, kernel, x, r, q, scales, outRows, cols, Block),
                    RunInt8(three, kernel, x, r, q, scales, outRows, cols, Block));
            }
        }
    }

    [Fact]
    public void ForwardDoesNotAllocateOnceScratchHasGrown()
    {
        const int rows = 9, cols = 256, outRows = 48;
        var (x, q, scales) = Int8Problem(rows, cols, outRows, cols);
        using var weight = Int8Weight.Create(LinearSource.Int8(q, scales, outRows, cols, cols));
        using var fp32Weight = Fp32Weight.Create(LinearSource.Fp32(RandomMatrix(outRows, cols, seed: 4), outRows, cols));
        using var pool = new WorkerPool(2);
        using var int8 = new Int8MatMul(pool, Int8MatMul.Best);
        using var fp32 = new Fp32MatMul(pool);
        var y = new float[rows * outRows];
        int8.Forward(x, rows, weight, y);
        fp32.Forward(x, rows, fp32Weight, y);
        var before = GC.GetAllocatedBytesForCurrentThread();
        int8.Forward(x, rows, weight, y);
        int8.Forward(x, 1, weight, y);
        fp32.Forward(x, rows, fp32Weight, y);
        fp32.Forward(x, 1, fp32Weight, y);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Theory]
    [MemberData(nameof(Fp32Shapes))]
    public void Fp32MatchesDoubleReference(int rows, int cols, int outRows)
    {
        var x = RandomMatrix(rows, cols, seed: 5);
        var w = RandomMatrix(outRows, cols, seed: 6);
        using var weight = Fp32Weight.Create(LinearSource.Fp32(w, outRows, cols));
        using var pool = new WorkerPool(3);
        foreach (var wide in new[] { false, true })
        {
            if (wide && !System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) continue;
            using var matMul = new Fp32MatMul(pool, wide);
            var y = new float[rows * outRows];
            matMul.Forward(x, rows, weight, y);
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < outRows; j++)
                {
                    double exact = 0, magnitude = 0;
                    for (var k = 0; k < cols; k++)
                    {
                        exact += (double)x[i * cols + k] * w[j * cols + k];
                        magnitude += Math.Abs((double)x[i * cols + k] * w[j * cols + k]);
                    }
                    Assert.True(Math.Abs(y[i * outRows + j] - exact) <= 1e-5 * magnitude, $"512={wide} ({i},{j}): {y[i * outRows + j]} vs {exact}");
                }
            }
        }
    }

    private static IEnumerable<Int8Kernel> AvailableKernels() =>
        AvxVnni.IsSupported ? [Int8Kernel.Vnni, Int8Kernel.Portable] : [Int8Kernel.Portable];

    private static float[] RunInt8(WorkerPool pool, Int8Kernel kernel, float[] x, int rows, sbyte[] q, float[] scales,
        int outRows, int cols, int groupSize)
    {
        using var weight = Int8Weight.Create(LinearSource.Int8(q, scales, outRows, cols, groupSize));
        using var matMul = new Int8MatMul(pool, kernel);
        var y = new float[rows * outRows];
        matMul.Forward(x.AsSpan(0, rows * cols), rows, weight, y);
        return y;
    }

    /// <summary>Random activations and int8 weights with varied row scales, one zero activation row and one zero weight row.</summary>
    private static (float[] X, sbyte[] Q, float[] Scales) Int8Problem(int rows, int cols, int outRows, int groupSize)
    {
        var x = RandomMatrix(rows, cols, seed: 7);
        if (rows > 1) Array.Clear(x, cols, cols);
        var random = new Random(8);
        var groups = (cols + groupSize - 1) / groupSize;
        var q = new sbyte[outRows * cols];
        for (var i = 0; i < q.Length; i++) q[i] = (sbyte)random.Next(-127, 128);
        Array.Clear(q, 0, cols);
        var scales = new float[outRows * groups];
        for (var i = 0; i < scales.Length; i++) scales[i] = (float)(random.NextDouble() + 0.01) / 100;
        return (x, q, scales);
    }

    /// <summary>
    /// The int8 product done naively in double, with the kernel's activation quantization: per block of 128
    /// columns (zero-padded) scale = absmax/127, q = round-to-even(x · (127/absmax)) in float; exact integer
    /// block sums. Returns the result and, per output, Σ|block terms| to size the tolerance.
    /// </summary>
    private static (double[] Y, double[] Magnitude) QuantizedReference(float[] x, int rows, int cols, sbyte[] q,
        float[] scales, int outRows, int groupSize)
    {
        var blocks = (cols + Block - 1) / Block;
        var groups = (cols + groupSize - 1) / groupSize;
        var y = new double[rows * outRows];
        var magnitude = new double[rows * outRows];
        var qx = new int[cols];
        for (var i = 0; i < rows; i++)
        {
            var row = x.AsSpan(i * cols, cols);
            var xScales = ActivationScales(row);
            for (var b = 0; b < blocks; b++)
            {
                var inverse = 127f / BlockAbsMax(row, b);
                for (var k = b * Block; k < Math.Min(cols, (b + 1) * Block); k++)
                    qx[k] = xScales[b] == 0f ? 0 : (int)MathF.Round(row[k] * inverse);
            }
            for (var j = 0; j < outRows; j++)
            {
                for (var b = 0; b < blocks; b++)
                {
                    long sum = 0;
                    for (var k = b * Block; k < Math.Min(cols, (b + 1) * Block); k++) sum += qx[k] * q[j * cols + k];
                    var term = sum * (double)xScales[b] * scales[j * groups + b * Block / groupSize];
                    y[i * outRows + j] += term;
                    magnitude[i * outRows + j] += Math.Abs(term);
                }
            }
        }
        return (y, magnitude);
    }

    private static float[] ActivationScales(ReadOnlySpan<float> row)
    {
        var scales = new float[(row.Length + Block - 1) / Block];
        for (var b = 0; b < scales.Length; b++)
        {
            var absMax = BlockAbsMax(row, b);
            scales[b] = absMax < 1e-30f ? 0f : absMax / 127f;
        }
        return scales;
    }

    private static float BlockAbsMax(ReadOnlySpan<float> row, int block)
    {
        var absMax = 0f;
        for (var k = block * Block; k < Math.Min(row.Length, (block + 1) * Block); k++) absMax = MathF.Max(absMax, MathF.Abs(row[k]));
        return absMax;
    }

    /// <summary>Uniform values in [-1, 1) with row magnitudes spread over two orders, reproducible by seed.</summary>
    private static float[] RandomMatrix(int rows, int cols, int seed)
    {
        var random = new Random(seed);
        var values = new float[rows * cols];
        for (var r = 0; r < rows; r++)
        {
            var rowScale = MathF.Pow(10f, (float)random.NextDouble() * 2 - 1);
            for (var k = 0; k < cols; k++) values[r * cols + k] = ((float)random.NextDouble() * 2 - 1) * rowScale;
        }
        return values;
    }
}
