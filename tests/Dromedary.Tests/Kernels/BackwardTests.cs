using System.Runtime.Intrinsics;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Xunit;

namespace Dromedary.Tests.Kernels;

/// <summary>
/// Each backward kernel against central finite differences of its own fp32 forward, on small odd shapes, for the
/// scalar loss L = Σ dY·Y with a random upstream gradient dY, summed in double. With a step of 1e-2 the truncation
/// error (~h²) and the fp32 rounding of L divided by 2h (~1e-6 / 2e-2) both stay near 1e-4 of the gradient, so
/// gradients must agree to 1e-3 of their largest component. Linear products are checked against naive double loops.
/// </summary>
public sealed class BackwardTests
{
    private const float Step = 1e-2f;
    private const double GradientTolerance = 1e-3;

    private static float[] RandomFloats(Random random, int count, double scale = 1)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return sum;
    }

    /// <summary>dL/dx[i] by central differences; the step is taken as the difference of the rounded floats.</summary>
    private static double[] NumericGradient(float[] x, Func<double> loss, int count = -1)
    {
        var gradient = new double[count < 0 ? x.Length : count];
        for (var i = 0; i < gradient.Length; i++)
        {
            var saved = x[i];
            float plus = saved + Step, minus = saved - Step;
            x[i] = plus;
            var up = loss();
            x[i] = minus;
            var down = loss();
            x[i] = saved;
            gradient[i] = (up - down) / ((double)plus - minus);
        }
        return gradient;
    }

    private static void AssertGradient(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, string name)
    {
        var largest = 0.0;
        foreach (var e in expected) largest = Math.Max(largest, Math.Abs(e));
        Assert.True(largest > 0, $"{name}: the finite-difference gradient is all zeros");
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= GradientTolerance * largest,
                $"{name}[{i}]: finite differences {expected[i]}, backward {actual[i]} (largest {largest})");
        }
    }

    private static void AssertBitwiseEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]), $"[{i}] {expected[i]} != {actual[i]}");
    }

    /// <summary>|actual − expected| ≤ tolerance · magnitude per element, magnitude being Σ|terms| of the product.</summary>
    private static void AssertWithin(double[] expected, double[] magnitude, ReadOnlySpan<float> actual, double tolerance, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * magnitude[i] + 1e-30, $"{name}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    // ---- RmsNorm ----

    [Theory]
    [InlineData(12)]
    [InlineData(20)]
    public void RmsNormBackwardMatchesFiniteDifferences(int cols)
    {
        const int rows = 5;
        const float eps = 1e-5f;
        var random = new Random(1);
        var x = RandomFloats(random, rows * cols, 3);
        var weight = RandomFloats(random, cols, 2);
        var dy = RandomFloats(random, rows * cols);
        var y = new float[rows * cols];
        double Loss()
        {
            CpuRmsNorm.Forward(x, weight, eps, rows, y);
            return Dot(dy, y);
        }

        var dx = new float[rows * cols];
        var dWeight = RandomFloats(random, cols);
        var initial = dWeight.ToArray();
        CpuRmsNorm.Backward(x, weight, eps, rows, dy, dx, dWeight);
        AssertGradient(NumericGradient(x, Loss), dx, "dx");
        var added = dWeight.Zip(initial, (a, b) => a - b).ToArray();
        AssertGradient(NumericGradient(weight, Loss), added, "dWeight");

        CpuRmsNorm.Backward(x, weight, eps, rows, dy, dy);
        AssertBitwiseEqual(dx, dy);
    }

    // ---- Rope ----

    [Theory]
    [InlineData(8)]
    [InlineData(20)]
    public void RopeBackwardMatchesFiniteDifferences(int headDim)
    {
        const int rows = 5, heads = 3;
        int[] positions = [0, 3, 7, 19, 2];
        var random = new Random(2);
        using var table = new CpuRopeTable(headDim, 10000, 20);
        var x = RandomFloats(random, rows * heads * headDim);
        var dy = RandomFloats(random, x.Length);
        var y = new float[x.Length];
        double Loss()
        {
            x.CopyTo(y, 0);
            CpuRope.Apply(y, rows, heads, headDim, positions, table);
            return Dot(dy, y);
        }

        var dx = dy.ToArray();
        CpuRope.ApplyBackward(dx, rows, heads, headDim, positions, table);
        AssertGradient(NumericGradient(x, Loss), dx, "dx");
    }

    // ---- SwiGlu ----

    [Fact]
    public void SwiGluBackwardMatchesFiniteDifferences()
    {
        var random = new Random(3);
        var gate = RandomFloats(random, 37, 4);
        var up = RandomFloats(random, gate.Length, 2);
        var dOut = RandomFloats(random, gate.Length);
        var output = new float[gate.Length];
        double Loss()
        {
            CpuSwiGlu.Forward(gate, up, output);
            return Dot(dOut, output);
        }

        var dGate = new float[gate.Length];
        var dUp = new float[gate.Length];
        CpuSwiGlu.Backward(gate, up, dOut, dGate, dUp);
        AssertGradient(NumericGradient(gate, Loss), dGate, "dGate");
        AssertGradient(NumericGradient(up, Loss), dUp, "dUp");
    }

    [Fact]
    public void SwiGluBackwardSurvivesLargeGatesAndMayRunInPlace()
    {
        var random = new Random(4);
        var gate = RandomFloats(random, 1037, 8);
        float[] extremes = [100, -100, 1000, -1000, 88.8f, -88.8f, 17, -17];
        extremes.CopyTo(gate, 600);
        var up = RandomFloats(random, gate.Length, 2);
        var dOut = RandomFloats(random, gate.Length);
        var dGate = new float[gate.Length];
        var dUp = new float[gate.Length];
        CpuSwiGlu.Backward(gate, up, dOut, dGate, dUp);
        for (var i = 0; i < gate.Length; i++)
        {
            double g = gate[i], sigmoid = 1 / (1 + Math.Exp(-g));
            var slope = sigmoid * (1 + g * (1 - sigmoid));
            Assert.True(Math.Abs(dOut[i] * up[i] * slope - dGate[i]) <= 2e-6 * Math.Max(1, Math.Abs(dOut[i] * up[i])), $"dGate[{i}] at gate {g}: {dGate[i]}");
            Assert.True(Math.Abs(dOut[i] * g * sigmoid - dUp[i]) <= 1e-6 * Math.Max(1, Math.Abs(dOut[i] * g)), $"dUp[{i}] at gate {g}: {dUp[i]}");
        }

        CpuSwiGlu.Backward(gate, up, dOut, gate, up);
        AssertBitwiseEqual(dGate, gate);
        AssertBitwiseEqual(dUp, up);
    }

    // ---- Attention ----

    [Theory]
    [InlineData(6, 2, 8, 5, 2)]
    [InlineData(6, 2, 8, 7, 0)]
    [InlineData(4, 4, 20, 3, 1)]
    public void AttentionBackwardMatchesFiniteDifferences(int heads, int kvHeads, int headDim, int rows, int start)
    {
        using var pool = new WorkerPool(2);
        var attention = new CpuAttention(pool);
        AssertAttentionGradients(5, rows * heads * headDim, (start + rows) * kvHeads * headDim,
            (q, keys, values, output) => attention.Forward(q, keys, values, rows, start, heads, kvHeads, headDim, output),
            (q, keys, values, dOut, dQ, dKey, dValue) => attention.Backward(q, keys, values, rows, start, heads, kvHeads, headDim, dOut, dQ, dKey, dValue));
    }

    /// <summary>
    /// An attention op's dQ, dKey and dValue against finite differences of its forward for L = Σ dOut·output, on
    /// random q [queries], keys and values [keyValues]; dKey and dValue start as garbage: every row must be written.
    /// </summary>
    private static void AssertAttentionGradients(int seed, int queries, int keyValues, Action<float[], float[], float[], float[]> forward,
        Action<float[], float[], float[], float[], float[], float[], float[]> backward)
    {
        var random = new Random(seed);
        var q = RandomFloats(random, queries);
        var keys = RandomFloats(random, keyValues, 2);
        var values = RandomFloats(random, keyValues, 2);
        var dOut = RandomFloats(random, queries);
        var output = new float[queries];
        double Loss()
        {
            forward(q, keys, values, output);
            return Dot(dOut, output);
        }

        var dQ = new float[queries];
        var dKey = Enumerable.Repeat(7f, keyValues).ToArray();
        var dValue = dKey.ToArray();
        backward(q, keys, values, dOut, dQ, dKey, dValue);
        AssertGradient(NumericGradient(q, Loss), dQ, "dQ");
        AssertGradient(NumericGradient(keys, Loss), dKey, "dKey");
        AssertGradient(NumericGradient(values, Loss), dValue, "dValue");
    }

    /// <summary>Sequences of 4, 0, 5 and 3 tokens packed in one block of 12 (an empty one among them).</summary>
    private static readonly int[] s_segmentBounds = [0, 4, 4, 9, 12];

    /// <summary>
    /// Packed sequences' attention against a naive double loop: row t of sequence s attends to rows
    /// bounds[s] .. t only, positions restarting at each sequence's start.
    /// </summary>
    [Fact]
    public void SegmentedAttentionForwardMatchesANaiveLoopWithinEachSequence()
    {
        const int heads = 6, kvHeads = 2, headDim = 8, rows = 12;
        int width = heads * headDim, kvWidth = kvHeads * headDim;
        var random = new Random(8);
        var q = RandomFloats(random, rows * width);
        var keys = RandomFloats(random, rows * kvWidth, 2);
        var values = RandomFloats(random, keys.Length, 2);
        var output = new float[q.Length];
        using var pool = new WorkerPool(2);
        CpuSegmentedAttention.Forward(new CpuAttention(pool), q, keys, values, s_segmentBounds, heads, kvHeads, headDim, output);

        for (var s = 0; s + 1 < s_segmentBounds.Length; s++)
        for (var t = s_segmentBounds[s]; t < s_segmentBounds[s + 1]; t++)
        for (var h = 0; h < heads; h++)
        {
            var kv = h / (heads / kvHeads) * headDim;
            var scores = new double[t + 1 - s_segmentBounds[s]];
            for (var j = 0; j < scores.Length; j++)
                scores[j] = Dot(q.AsSpan(t * width + h * headDim, headDim), keys.AsSpan((s_segmentBounds[s] + j) * kvWidth + kv, headDim)) / Math.Sqrt(headDim);
            var weights = scores.Select(x => Math.Exp(x - scores.Max())).ToArray();
            for (var i = 0; i < headDim; i++)
            {
                var expected = 0.0;
                for (var j = 0; j < weights.Length; j++) expected += weights[j] * values[(s_segmentBounds[s] + j) * kvWidth + kv + i];
                expected /= weights.Sum();
                Assert.True(Math.Abs(expected - output[t * width + h * headDim + i]) <= 1e-5, $"token {t}, head {h}, dim {i}");
            }
        }
    }

    [Fact]
    public void SegmentedAttentionBackwardMatchesFiniteDifferences()
    {
        const int heads = 4, kvHeads = 2, headDim = 6, rows = 12;
        using var pool = new WorkerPool(2);
        var attention = new CpuAttention(pool);
        AssertAttentionGradients(9, rows * heads * headDim, rows * kvHeads * headDim,
            (q, keys, values, output) => CpuSegmentedAttention.Forward(attention, q, keys, values, s_segmentBounds, heads, kvHeads, headDim, output),
            (q, keys, values, dOut, dQ, dKey, dValue) =>
                CpuSegmentedAttention.Backward(attention, q, keys, values, s_segmentBounds, heads, kvHeads, headDim, dOut, dQ, dKey, dValue));
        var empty = new float[rows * heads * headDim];
        Assert.Throws<ArgumentException>(() => CpuSegmentedAttention.Backward(attention, empty, empty, empty, [0, 5, 3], heads, kvHeads, headDim,
            empty, empty, empty, empty));
    }

    [Fact]
    public void AttentionBackwardIsIndependentOfThreadCountAndMayOverwriteQ()
    {
        const int heads = 6, kvHeads = 2, headDim = 16, rows = 37, spare = 2;
        var kvWidth = kvHeads * headDim;
        var random = new Random(6);
        var q = RandomFloats(random, rows * heads * headDim);
        var keys = RandomFloats(random, rows * kvWidth, 2);
        var values = RandomFloats(random, keys.Length, 2);
        var dOut = RandomFloats(random, q.Length);
        (float[] DQ, float[] DKey, float[] DValue) Run(int threads, float[] dQ)
        {
            // Positions past the context must be left alone.
            var dKey = Enumerable.Repeat(7f, (rows + spare) * kvWidth).ToArray();
            var dValue = dKey.ToArray();
            using var pool = new WorkerPool(threads);
            new CpuAttention(pool).Backward(q, keys, values, rows, 0, heads, kvHeads, headDim, dOut, dQ, dKey, dValue);
            return (dQ, dKey, dValue);
        }

        var one = Run(1, new float[q.Length]);
        var three = Run(3, new float[q.Length]);
        AssertBitwiseEqual(one.DQ, three.DQ);
        AssertBitwiseEqual(one.DKey, three.DKey);
        AssertBitwiseEqual(one.DValue, three.DValue);
        Assert.All(one.DKey[(rows * kvWidth)..], v => Assert.Equal(7f, v));
        Assert.All(one.DValue[(rows * kvWidth)..], v => Assert.Equal(7f, v));

        var inPlace = Run(3, q);
        AssertBitwiseEqual(one.DQ, inPlace.DQ);
        AssertBitwiseEqual(one.DKey, inPlace.DKey);
    }

    // ---- Linear input gradients ----

    [Theory]
    [InlineData(1, 96, 7, 96)]
    [InlineData(5, 200, 33, 128)]
    [InlineData(17, 200, 33, 200)]
    [InlineData(5, 384, 7, 128)]
    [InlineData(3, 13, 5, 13)]
    [InlineData(9, 200, 300, 128)] // K = 300 spans two chunks of the engine
    public void Int8BackwardInputIsDyTimesTheDequantizedWeight(int rows, int cols, int outRows, int groupSize)
    {
        var random = new Random(7);
        var groups = Int8Quantizer.GroupCount(cols, groupSize);
        var q = new sbyte[outRows * cols];
        var scales = new float[outRows * groups];
        Int8Quantizer.Quantize(RandomFloats(random, outRows * cols), outRows, cols, groupSize, q, scales);
        var dequantized = new float[q.Length];
        Int8Quantizer.Dequantize(q, scales, outRows, cols, groupSize, dequantized);
        var dY = RandomFloats(random, rows * outRows);
        var (expected, magnitude) = Naive(dY, dequantized, rows, cols, outRows, transposeA: false, transposeB: false);

        using var weight = Int8Weight.Create(LinearSource.Int8(q, scales, outRows, cols, groupSize));
        using var pool = new WorkerPool(3);
        using var matMul = new Int8MatMul(pool, Int8MatMul.Best);
        var dX = new float[rows * cols];
        matMul.BackwardInput(dY, rows, weight, dX);
        AssertWithin(expected, magnitude, dX, 1e-5, "dX");
    }

    [Theory]
    [InlineData(1, 13, 7)]
    [InlineData(5, 200, 33)]
    [InlineData(17, 96, 33)]
    [InlineData(9, 40, 300)]
    public void Fp32BackwardInputIsDyTimesTheWeight(int rows, int cols, int outRows)
    {
        var random = new Random(8);
        var w = RandomFloats(random, outRows * cols);
        var dY = RandomFloats(random, rows * outRows);
        var (expected, magnitude) = Naive(dY, w, rows, cols, outRows, transposeA: false, transposeB: false);
        using var weight = Fp32Weight.Create(LinearSource.Fp32(w, outRows, cols));
        using var pool = new WorkerPool(3);
        foreach (var wide in WidthsToTest())
        {
            using var matMul = new Fp32MatMul(pool, wide);
            var dX = new float[rows * cols];
            matMul.BackwardInput(dY, rows, weight, dX);
            AssertWithin(expected, magnitude, dX, 1e-5, $"512={wide} dX");
        }
    }

    // ---- Fp32Gemm ----

    private enum GemmKind { Plain, TransposedA, TransposedB }

    private static IEnumerable<bool> WidthsToTest() => Vector512.IsHardwareAccelerated ? [false, true] : [false];

    /// <summary>c[m, n] = op(a) · op(b) in double, and Σ|terms| per element.</summary>
    private static (double[] C, double[] Magnitude) Naive(float[] a, float[] b, int m, int n, int k, bool transposeA, bool transposeB)
    {
        var c = new double[m * n];
        var magnitude = new double[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                for (var p = 0; p < k; p++)
                {
                    var term = (double)(transposeA ? a[p * m + i] : a[i * k + p]) * (transposeB ? b[j * k + p] : b[p * n + j]);
                    c[i * n + j] += term;
                    magnitude[i * n + j] += Math.Abs(term);
                }
            }
        }
        return (c, magnitude);
    }

    private static void RunGemm(Fp32Gemm gemm, GemmKind kind, float[] a, float[] b, float[] c, int m, int n, int k, bool accumulate)
    {
        switch (kind)
        {
            case GemmKind.Plain: gemm.Multiply(a, b, c, m, n, k, accumulate); break;
            case GemmKind.TransposedA: gemm.MultiplyTransposedA(a, b, c, m, n, k, accumulate); break;
            default: gemm.MultiplyTransposedB(a, b, c, m, n, k, accumulate); break;
        }
    }

    [Theory]
    [InlineData(7, 5, 13)]
    [InlineData(33, 17, 65)]
    [InlineData(1, 1, 1)]
    [InlineData(70, 40, 3)]
    [InlineData(3, 100, 70)]
    [InlineData(260, 20, 300)] // two K chunks, two row blocks
    public void GemmsMatchNaiveLoops(int m, int n, int k)
    {
        var random = new Random(9);
        var a = RandomFloats(random, m * k);
        var b = RandomFloats(random, k * n);
        var initial = RandomFloats(random, m * n);
        using var pool = new WorkerPool(3);
        foreach (var kind in Enum.GetValues<GemmKind>())
        {
            var (expected, magnitude) = Naive(a, b, m, n, k, kind == GemmKind.TransposedA, kind == GemmKind.TransposedB);
            foreach (var wide in WidthsToTest())
            {
                using var gemm = new Fp32Gemm(pool, wide);
                var c = new float[m * n];
                RunGemm(gemm, kind, a, b, c, m, n, k, accumulate: false);
                AssertWithin(expected, magnitude, c, 1e-5, $"{kind} 512={wide}");

                initial.CopyTo(c, 0);
                RunGemm(gemm, kind, a, b, c, m, n, k, accumulate: true);
                var sum = expected.Select((e, i) => e + initial[i]).ToArray();
                var bound = magnitude.Select((e, i) => e + Math.Abs(initial[i])).ToArray();
                AssertWithin(sum, bound, c, 1e-5, $"{kind} 512={wide} accumulate");
            }
        }
    }

    [Fact]
    public void GemmsDoNotDependOnThreadCount()
    {
        const int m = 300, n = 70, k = 520;
        var random = new Random(10);
        var a = RandomFloats(random, m * k);
        var b = RandomFloats(random, k * n);
        using var onePool = new WorkerPool(1);
        using var threePool = new WorkerPool(3);
        using var one = new Fp32Gemm(onePool);
        using var three = new Fp32Gemm(threePool);
        foreach (var kind in Enum.GetValues<GemmKind>())
        {
            var c1 = new float[m * n];
            var c3 = new float[m * n];
            RunGemm(one, kind, a, b, c1, m, n, k, accumulate: false);
            RunGemm(three, kind, a, b, c3, m, n, k, accumulate: false);
            AssertBitwiseEqual(c1, c3);
        }
    }

    // ---- Cross-entropy ----

    [Fact]
    public void CrossEntropyMatchesLogSumExpIgnoresMaskedRowsAndMayOverwriteLogits()
    {
        const int vocab = 1031;
        const float scale = 0.25f;
        int[] targets = [3, CpuCrossEntropy.IgnoreIndex, 1030, 0];
        var random = new Random(11);
        var logits = RandomFloats(random, targets.Length * vocab, 12);
        for (var i = 0; i < vocab; i++) logits[i] += 1000; // a large common offset must not matter
        var dLogits = new float[logits.Length];
        CpuCrossEntropy.ForwardBackward(logits, vocab, targets, scale, dLogits, out var lossSum, out var counted);

        Assert.Equal(3, counted);
        var expectedLoss = 0.0;
        for (var r = 0; r < targets.Length; r++)
        {
            var row = logits.AsSpan(r * vocab, vocab).ToArray();
            var grad = dLogits.AsSpan(r * vocab, vocab);
            if (targets[r] == CpuCrossEntropy.IgnoreIndex)
            {
                Assert.All(grad.ToArray(), g => Assert.Equal(0f, g));
                continue;
            }
            var max = (double)row.Max();
            var logSum = Math.Log(row.Sum(x => Math.Exp(x - max))) + max;
            expectedLoss += logSum - row[targets[r]];
            for (var c = 0; c < vocab; c++)
            {
                var expected = scale * (Math.Exp(row[c] - logSum) - (c == targets[r] ? 1 : 0));
                Assert.True(Math.Abs(expected - grad[c]) <= 1e-6, $"row {r} [{c}]: expected {expected}, got {grad[c]}");
            }
        }
        Assert.True(Math.Abs(expectedLoss - lossSum) <= 1e-5 * counted, $"loss {lossSum}, expected {expectedLoss}");

        CpuCrossEntropy.ForwardBackward(logits, vocab, targets, scale, logits, out var aliasedLoss, out _);
        Assert.Equal(lossSum, aliasedLoss);
        AssertBitwiseEqual(dLogits, logits);
    }

    [Fact]
    public void CrossEntropyGradientMatchesFiniteDifferences()
    {
        const int vocab = 37;
        const float scale = 0.25f;
        int[] targets = [0, 36, CpuCrossEntropy.IgnoreIndex, 5, 17];
        var random = new Random(12);
        var logits = RandomFloats(random, targets.Length * vocab, 3);
        var scratch = new float[logits.Length];
        double Loss()
        {
            CpuCrossEntropy.ForwardBackward(logits, vocab, targets, scale, scratch, out var lossSum, out _);
            return scale * lossSum;
        }

        var dLogits = new float[logits.Length];
        CpuCrossEntropy.ForwardBackward(logits, vocab, targets, scale, dLogits, out _, out _);
        AssertGradient(NumericGradient(logits, Loss), dLogits, "dLogits");
    }

    [Fact]
    public void CrossEntropyRejectsTargetsOutsideTheVocabulary()
    {
        var logits = new float[2 * 5];
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuCrossEntropy.ForwardBackward(logits, 5, [1, 5], 1, logits, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuCrossEntropy.ForwardBackward(logits, 5, [-1, 0], 1, logits, out _, out _));
    }

    // ---- Steady state ----

    [Fact]
    public void BackwardKernelsDoNotAllocateInSteadyState()
    {
        const int rows = 9, cols = 256, outRows = 48, heads = 4, kvHeads = 2, headDim = 16, rank = 8;
        var random = new Random(13);
        var x = RandomFloats(random, rows * cols);
        var dY = RandomFloats(random, rows * outRows);
        var dX = new float[rows * cols];
        var q = new sbyte[outRows * cols];
        var scales = new float[outRows];
        Int8Quantizer.Quantize(RandomFloats(random, outRows * cols), outRows, cols, cols, q, scales);
        using var int8Weight = Int8Weight.Create(LinearSource.Int8(q, scales, outRows, cols, cols));
        using var fp32Weight = Fp32Weight.Create(LinearSource.Fp32(RandomFloats(random, outRows * cols), outRows, cols));
        var norm = RandomFloats(random, cols);
        var dNorm = new float[cols];
        var adapter = RandomFloats(random, cols * rank);
        var u = new float[rows * rank];
        var dAdapter = new float[cols * rank];
        var width = heads * headDim;
        var attentionQ = RandomFloats(random, rows * width);
        var cache = RandomFloats(random, rows * kvHeads * headDim);
        var dQ = new float[attentionQ.Length];
        var dCache = new float[cache.Length];
        var dCache2 = new float[cache.Length];
        int[] positions = [0, 1, 2, 3, 4, 5, 6, 7, 8];
        int[] targets = [1, 2, CpuCrossEntropy.IgnoreIndex, 4, 5, 6, 7, 8, 9];
        using var rope = new CpuRopeTable(headDim, 10000, 16);
        using var pool = new WorkerPool(1);
        using var int8 = new Int8MatMul(pool, Int8MatMul.Best);
        using var fp32 = new Fp32MatMul(pool);
        using var gemm = new Fp32Gemm(pool);
        var attention = new CpuAttention(pool);

        void Step()
        {
            int8.BackwardInput(dY, rows, int8Weight, dX);
            fp32.BackwardInput(dY, rows, fp32Weight, dX);
            gemm.Multiply(x, adapter, u, rows, rank, cols);
            gemm.MultiplyTransposedB(u, adapter, dX, rows, cols, rank, accumulate: true);
            gemm.MultiplyTransposedA(x, u, dAdapter, cols, rank, rows, accumulate: true);
            CpuRmsNorm.Backward(x, norm, 1e-5f, rows, dX, dX, dNorm);
            CpuSwiGlu.Backward(x, dX, dX, dX, x);
            CpuRope.ApplyBackward(dQ, rows, heads, headDim, positions, rope);
            attention.Backward(attentionQ, cache, cache, rows, 0, heads, kvHeads, headDim, attentionQ, dQ, dCache, dCache2);
            CpuCrossEntropy.ForwardBackward(dX, cols, targets, 1, dX, out _, out _);
        }

        Step();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
