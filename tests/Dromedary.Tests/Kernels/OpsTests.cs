using System.Runtime.InteropServices;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Xunit;

namespace Dromedary.Tests.Kernels;

/// <summary>Each CPU kernel against a naive double-precision loop, on small odd shapes.</summary>
public sealed class OpsTests
{
    private static float[] RandomFloats(Random random, int count, double scale = 1)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }

    private static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs(expected[i] - actual[i]);
            Assert.True(error <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"[{i}] expected {expected[i]}, got {actual[i]}");
        }
    }

    private static void AssertBitwiseEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]), $"[{i}] {expected[i]} != {actual[i]}");
    }

    // ---- ScalarConvert ----

    [Fact]
    public void Bf16AndF16WidenEveryBitPatternExactly()
    {
        var bits = new ushort[65536];
        for (var i = 0; i < bits.Length; i++) bits[i] = (ushort)i;
        var bytes = MemoryMarshal.AsBytes(bits.AsSpan());
        var widened = new float[bits.Length];

        ScalarConvert.ToFloat(bytes, ScalarType.BF16, widened);
        for (var i = 0; i < bits.Length; i++) Assert.Equal((uint)i << 16, BitConverter.SingleToUInt32Bits(widened[i]));

        ScalarConvert.ToFloat(bytes, ScalarType.F16, widened);
        for (var i = 0; i < bits.Length; i++)
        {
            var expected = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(widened[i]));
            else Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(widened[i]));
        }
    }

    [Fact]
    public void F32ConvertsAsAByteCopy()
    {
        var values = new[] { 1.5f, -0f, float.NaN, float.NegativeInfinity, float.Epsilon, BitConverter.UInt32BitsToSingle(0x7FC1_2345) };
        var bytes = new byte[values.Length * 4];
        ScalarConvert.FromFloat(values, ScalarType.F32, bytes);
        Assert.Equal(MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), bytes);
        var back = new float[values.Length];
        ScalarConvert.ToFloat(bytes, ScalarType.F32, back);
        AssertBitwiseEqual(values, back);
    }

    /// <summary>Round to nearest even written as "compare the dropped half with one half", unlike the kernel's carry trick.</summary>
    private static ushort Bf16Reference(uint bits)
    {
        var kept = bits >> 16;
        var dropped = bits & 0xFFFF;
        if (dropped > 0x8000 || (dropped == 0x8000 && (kept & 1) == 1)) kept++;
        return (ushort)kept;
    }

    private static uint[] NarrowingCases(Random random)
    {
        var cases = new List<uint>
        {
            0x3F80_8000, // 1 + 2^-8: tie, kept bit even, rounds down to 1
            0x3F81_8000, // tie, kept bit odd, rounds up
            0x3F80_8001, // just above the tie
            0x3F80_7FFF, // just below the tie
            0x7F7F_FFFF, // largest float: rounds up to infinity
            0x7F7F_7FFF, // rounds down to the largest bfloat16
            0x7F80_0000, 0xFF80_0000, // ±infinity
            0x8000_0000, 0x0000_0000, // ±0
            0x0000_8000, 0x0001_8000, 0x0000_0001, 0x807F_FFFF, // float subnormals, ties included
            0x0080_0000, // smallest normal
            0x7FC0_0000, 0xFFC0_0000, // quiet NaNs
            0x7F80_0001, 0xFF80_FFFF, // NaNs whose payload is only in the dropped bits
        };
        for (var i = 0; i < 200; i++) cases.Add((uint)random.NextInt64(0, 1L << 32));
        return cases.ToArray();
    }

    [Fact]
    public void Bf16NarrowsToNearestEven()
    {
        var bits = NarrowingCases(new Random(1));
        var values = MemoryMarshal.Cast<uint, float>(bits.AsSpan()).ToArray();
        var narrowed = new ushort[values.Length];
        ScalarConvert.FromFloat(values, ScalarType.BF16, MemoryMarshal.AsBytes(narrowed.AsSpan()));
        for (var i = 0; i < values.Length; i++)
        {
            if (float.IsNaN(values[i]))
            {
                Assert.True((narrowed[i] & 0x7F80) == 0x7F80 && (narrowed[i] & 0x7F) != 0, $"NaN {bits[i]:X8} narrowed to {narrowed[i]:X4}");
                Assert.Equal(bits[i] >> 31, (uint)narrowed[i] >> 15);
            }
            else
            {
                Assert.True(Bf16Reference(bits[i]) == narrowed[i], $"{bits[i]:X8}: expected {Bf16Reference(bits[i]):X4}, got {narrowed[i]:X4}");
            }
        }
    }

    [Fact]
    public void F16NarrowsToNearestEven()
    {
        var random = new Random(2);
        var values = new List<float>
        {
            1 + MathF.Pow(2, -11), // tie between 1 and 1 + 2^-10: even is 1
            1 + 3 * MathF.Pow(2, -11), // tie: even is 1 + 2^-9
            65504, 65519.99f, 65520, // largest half, just below the overflow tie, the tie (→ infinity)
            MathF.Pow(2, -24), MathF.Pow(2, -25), 3 * MathF.Pow(2, -25), // half subnormals and ties
            float.Epsilon, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN,
        };
        for (var i = 0; i < 200; i++) values.Add((float)((random.NextDouble() * 2 - 1) * Math.Pow(2, random.Next(-30, 20))));
        var narrowed = new Half[values.Count];
        ScalarConvert.FromFloat(values.ToArray(), ScalarType.F16, MemoryMarshal.AsBytes(narrowed.AsSpan()));
        for (var i = 0; i < values.Count; i++)
        {
            var expected = (Half)values[i];
            if (Half.IsNaN(expected)) Assert.True(Half.IsNaN(narrowed[i]));
            else Assert.Equal(BitConverter.HalfToUInt16Bits(expected), BitConverter.HalfToUInt16Bits(narrowed[i]));
        }
        Assert.Equal((ushort)0x3C00, BitConverter.HalfToUInt16Bits(narrowed[0]));
        Assert.Equal((ushort)0x3C02, BitConverter.HalfToUInt16Bits(narrowed[1]));
        Assert.Equal((ushort)0x7C00, BitConverter.HalfToUInt16Bits(narrowed[4]));
        Assert.Equal((ushort)0x0000, BitConverter.HalfToUInt16Bits(narrowed[6]));
        Assert.Equal((ushort)0x0002, BitConverter.HalfToUInt16Bits(narrowed[7]));
    }

    [Fact]
    public void ConversionRejectsMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => ScalarConvert.ToFloat(new byte[6], ScalarType.F32, new float[2]));
        Assert.Throws<ArgumentException>(() => ScalarConvert.FromFloat(new float[3], ScalarType.BF16, new byte[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ScalarConvert.ToFloat(new byte[2], ScalarType.I8, new float[2]));
    }

    // ---- Embedding ----

    [Theory]
    [InlineData(ScalarType.F32)]
    [InlineData(ScalarType.F16)]
    [InlineData(ScalarType.BF16)]
    public void EmbeddingLooksUpRowsInTheStoredType(ScalarType type)
    {
        const int vocabulary = 7, cols = 5;
        var random = new Random(3);
        var table = new byte[vocabulary * cols * type.SizeOf()];
        random.NextBytes(table);
        // Random F32/F16 bytes can be NaN; give those elements a plain value so comparisons stay simple.
        var expected = new float[vocabulary * cols];
        for (var i = 0; i < expected.Length; i++)
        {
            expected[i] = type switch
            {
                ScalarType.F32 => BitConverter.ToSingle(table, i * 4),
                ScalarType.F16 => (float)BitConverter.ToHalf(table, i * 2),
                _ => BitConverter.UInt32BitsToSingle((uint)BitConverter.ToUInt16(table, i * 2) << 16),
            };
        }
        int[] ids = [3, 0, 6, 3];
        var output = new float[ids.Length * cols];
        CpuEmbedding.Forward(table, type, cols, ids, output);
        for (var i = 0; i < ids.Length; i++)
        {
            for (var c = 0; c < cols; c++)
            {
                var want = expected[ids[i] * cols + c];
                var got = output[i * cols + c];
                Assert.True(float.IsNaN(want) ? float.IsNaN(got) : want.Equals(got), $"token {ids[i]} col {c}");
            }
        }
    }

    [Fact]
    public void EmbeddingRejectsIdsOutsideTheVocabulary()
    {
        var table = new byte[7 * 5 * 4];
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => CpuEmbedding.Forward(table, ScalarType.F32, 5, [2, 9], new float[10]));
        Assert.Contains("9", error.Message);
        Assert.Contains("7 tokens", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuEmbedding.Forward(table, ScalarType.F32, 5, [-1], new float[5]));
    }

    // ---- RmsNorm ----

    [Fact]
    public void RmsNormMatchesDoubleReferenceAndWorksInPlace()
    {
        const int rows = 3, cols = 13;
        const float eps = 1e-5f;
        var random = new Random(4);
        var x = RandomFloats(random, rows * cols, 3);
        var weight = RandomFloats(random, cols, 2);
        var expected = new double[rows * cols];
        for (var r = 0; r < rows; r++)
        {
            var sum = 0.0;
            for (var c = 0; c < cols; c++) sum += (double)x[r * cols + c] * x[r * cols + c];
            var scale = 1 / Math.Sqrt(sum / cols + eps);
            for (var c = 0; c < cols; c++) expected[r * cols + c] = x[r * cols + c] * scale * weight[c];
        }
        var y = new float[rows * cols];
        CpuRmsNorm.Forward(x, weight, eps, rows, y);
        AssertClose(expected, y, 1e-5);

        CpuRmsNorm.Forward(x, weight, eps, rows, x);
        AssertBitwiseEqual(y, x);
    }

    // ---- Rope ----

    [Theory]
    [InlineData(16)]
    [InlineData(20)]
    public void RopeRotatesHalvesAtEachRowsPosition(int headDim)
    {
        const int rows = 5, heads = 3, maxPositions = 20;
        const double theta = 10000;
        var random = new Random(5);
        var x = RandomFloats(random, rows * heads * headDim);
        int[] positions = [0, 3, 7, 19, 2];
        var expected = new double[x.Length];
        var half = headDim / 2;
        for (var r = 0; r < rows; r++)
        {
            for (var h = 0; h < heads; h++)
            {
                var b = (r * heads + h) * headDim;
                for (var i = 0; i < half; i++)
                {
                    var angle = positions[r] / Math.Pow(theta, 2.0 * i / headDim);
                    var (sin, cos) = Math.SinCos(angle);
                    expected[b + i] = x[b + i] * cos - x[b + i + half] * sin;
                    expected[b + i + half] = x[b + i + half] * cos + x[b + i] * sin;
                }
            }
        }
        using var table = new CpuRopeTable(headDim, theta, maxPositions);
        CpuRope.Apply(x, rows, heads, headDim, positions, table);
        AssertClose(expected, x, 1e-5);
    }

    [Fact]
    public void RopeRejectsPositionsBeyondTheTable()
    {
        using var table = new CpuRopeTable(16, 10000, 20);
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuRope.Apply(new float[2 * 16], 2, 1, 16, [19, 20], table));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuRope.Apply(new float[16], 1, 1, 16, [-1], table));
    }

    // ---- Attention ----

    /// <summary>A cache filled at positions 0 .. filled − 1; the rest is NaN so any read past the causal end shows.</summary>
    private static float[] Cache(Random random, int capacity, int filled, int kvWidth)
    {
        var cache = RandomFloats(random, capacity * kvWidth, 2);
        cache.AsSpan(filled * kvWidth).Fill(float.NaN);
        return cache;
    }

    private static double[] AttentionReference(float[] q, float[] keys, float[] values, int rows, int start, int heads, int kvHeads, int headDim)
    {
        var output = new double[rows * heads * headDim];
        var kvWidth = kvHeads * headDim;
        for (var i = 0; i < rows; i++)
        {
            for (var h = 0; h < heads; h++)
            {
                var kv = h / (heads / kvHeads) * headDim;
                var context = start + i + 1;
                var scores = new double[context];
                for (var t = 0; t < context; t++)
                {
                    for (var d = 0; d < headDim; d++) scores[t] += (double)q[(i * heads + h) * headDim + d] * keys[t * kvWidth + kv + d];
                    scores[t] /= Math.Sqrt(headDim);
                }
                var max = scores.Max();
                var sum = scores.Sum(s => Math.Exp(s - max));
                for (var t = 0; t < context; t++)
                {
                    var p = Math.Exp(scores[t] - max) / sum;
                    for (var d = 0; d < headDim; d++) output[(i * heads + h) * headDim + d] += p * values[t * kvWidth + kv + d];
                }
            }
        }
        return output;
    }

    [Theory]
    [InlineData(6, 2, 16, 1, 0)]
    [InlineData(6, 2, 16, 5, 3)]
    [InlineData(6, 2, 16, 7, 0)]
    [InlineData(6, 2, 16, 7, 3)]
    [InlineData(4, 4, 36, 20, 3)]
    [InlineData(3, 1, 71, 18, 0)]
    [InlineData(3, 1, 71, 1, 9)]
    public void AttentionMatchesDoubleReference(int heads, int kvHeads, int headDim, int rows, int start)
    {
        var random = new Random(6);
        var capacity = start + rows + 3;
        var q = RandomFloats(random, rows * heads * headDim);
        var keys = Cache(random, capacity, start + rows, kvHeads * headDim);
        var values = Cache(random, capacity, start + rows, kvHeads * headDim);
        using var pool = new WorkerPool(2);
        var output = new float[q.Length];
        new CpuAttention(pool).Forward(q, keys, values, rows, start, heads, kvHeads, headDim, output);
        AssertClose(AttentionReference(q, keys, values, rows, start, heads, kvHeads, headDim), output, 2e-5);
    }

    [Theory]
    [InlineData(6, 2, 16)]
    [InlineData(4, 4, 36)]
    public void AttentionDecodeEqualsTheMatchingPrefillRow(int heads, int kvHeads, int headDim)
    {
        const int rows = 19;
        var random = new Random(7);
        var width = heads * headDim;
        var q = RandomFloats(random, rows * width);
        var keys = Cache(random, rows + 2, rows, kvHeads * headDim);
        var values = Cache(random, rows + 2, rows, kvHeads * headDim);
        using var pool = new WorkerPool(3);
        var attention = new CpuAttention(pool);
        var prefill = new float[q.Length];
        attention.Forward(q, keys, values, rows, 0, heads, kvHeads, headDim, prefill);

        var step = new float[width];
        foreach (var position in new[] { 0, 3, 16, 18 })
        {
            attention.Forward(q.AsSpan(position * width, width), keys, values, 1, position, heads, kvHeads, headDim, step);
            AssertBitwiseEqual(prefill.AsSpan(position * width, width), step);
        }
        // A chunk after a prefix equals the same rows of the full prefill.
        var chunk = new float[4 * width];
        attention.Forward(q.AsSpan(5 * width, 4 * width), keys, values, 4, 5, heads, kvHeads, headDim, chunk);
        AssertBitwiseEqual(prefill.AsSpan(5 * width, 4 * width), chunk);
    }

    [Fact]
    public void AttentionIsIndependentOfThreadCountAndMayRunInPlace()
    {
        const int heads = 6, kvHeads = 2, headDim = 16, rows = 37, start = 3;
        var random = new Random(8);
        var q = RandomFloats(random, rows * heads * headDim);
        var keys = Cache(random, start + rows, start + rows, kvHeads * headDim);
        var values = Cache(random, start + rows, start + rows, kvHeads * headDim);
        var one = new float[q.Length];
        using (var pool = new WorkerPool(1)) new CpuAttention(pool).Forward(q, keys, values, rows, start, heads, kvHeads, headDim, one);
        var three = new float[q.Length];
        using (var pool = new WorkerPool(3))
        {
            var attention = new CpuAttention(pool);
            attention.Forward(q, keys, values, rows, start, heads, kvHeads, headDim, three);
            AssertBitwiseEqual(one, three);
            attention.Forward(q, keys, values, rows, start, heads, kvHeads, headDim, q);
            AssertBitwiseEqual(one, q);
        }
    }

    [Fact]
    public void AttentionDoesNotAllocateInSteadyState()
    {
        const int heads = 4, kvHeads = 2, headDim = 32, capacity = 64;
        var random = new Random(9);
        var q = RandomFloats(random, 20 * heads * headDim);
        var keys = Cache(random, capacity, capacity, kvHeads * headDim);
        var values = Cache(random, capacity, capacity, kvHeads * headDim);
        var output = new float[q.Length];
        using var pool = new WorkerPool(1);
        var attention = new CpuAttention(pool);
        attention.Forward(q, keys, values, 20, 0, heads, kvHeads, headDim, output);
        attention.Forward(q.AsSpan(0, heads * headDim), keys, values, 1, 20, heads, kvHeads, headDim, output);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var position = 21; position < capacity; position++)
            attention.Forward(q.AsSpan(0, heads * headDim), keys, values, 1, position, heads, kvHeads, headDim, output);
        attention.Forward(q, keys, values, 20, 10, heads, kvHeads, headDim, output);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void AttentionRejectsHeadsThatDoNotGroup()
    {
        using var pool = new WorkerPool(1);
        Assert.Throws<ArgumentException>(() => new CpuAttention(pool).Forward(new float[5 * 4], new float[2 * 4], new float[2 * 4], 1, 0, 5, 2, 4, new float[5 * 4]));
    }

    // ---- SwiGlu, residual ----

    [Fact]
    public void SwiGluMatchesDoubleReferenceAndSurvivesLargeGates()
    {
        var random = new Random(10);
        var gate = RandomFloats(random, 1037, 8);
        var up = RandomFloats(random, gate.Length, 2);
        float[] extremes = [100, -100, 1000, -1000, 88.8f, -88.8f];
        extremes.CopyTo(gate, 600);
        var expected = new double[gate.Length];
        for (var i = 0; i < gate.Length; i++) expected[i] = gate[i] / (1 + Math.Exp(-(double)gate[i])) * up[i];
        var output = new float[gate.Length];
        CpuSwiGlu.Forward(gate, up, output);
        AssertClose(expected, output, 1e-6);
        Assert.DoesNotContain(output, float.IsNaN);

        CpuSwiGlu.Forward(gate, up, gate);
        AssertBitwiseEqual(output, gate);
    }

    [Fact]
    public void ResidualAddsElementwise()
    {
        var residual = new[] { 1f, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
        var delta = new[] { 0.5f, -2, 0, 1e-3f, 5, 6, 7, 8, 9, 10, -11 };
        var expected = residual.Zip(delta, (a, b) => (double)a + b).ToArray();
        CpuResidual.Add(residual, delta);
        AssertClose(expected, residual, 1e-7);
        Assert.Throws<ArgumentException>(() => CpuResidual.Add(new float[3], new float[2]));
    }

    // ---- LogSoftmax, argmax ----

    [Theory]
    [InlineData(3, 1031)]
    [InlineData(1, 32000)]
    public void LogSoftmaxMatchesDoubleReference(int rows, int cols)
    {
        var random = new Random(11);
        var logits = RandomFloats(random, rows * cols, 12);
        for (var i = 0; i < cols; i++) logits[i] += 1000; // a large common offset must not matter
        var expected = new double[logits.Length];
        for (var r = 0; r < rows; r++)
        {
            var row = logits.AsSpan(r * cols, cols).ToArray();
            var max = row.Max();
            var logSum = Math.Log(row.Sum(x => Math.Exp(x - (double)max))) + max;
            for (var c = 0; c < cols; c++) expected[r * cols + c] = row[c] - logSum;
        }
        CpuLogSoftmax.Forward(logits, rows, cols);
        AssertClose(expected, logits, 2e-6);
    }

    [Fact]
    public void ArgmaxPicksTheLowestIndexOfTheMaximum()
    {
        Assert.Equal(1, CpuLogSoftmax.Argmax([1, 3, 3, 2]));
        Assert.Equal(0, CpuLogSoftmax.Argmax([-7]));
        Assert.Equal(2, CpuLogSoftmax.Argmax([-5, -4, -1, -3, -1]));
        var wide = new float[1000];
        wide[700] = 1;
        wide[900] = 1;
        Assert.Equal(700, CpuLogSoftmax.Argmax(wide));
        Assert.Throws<ArgumentException>(() => CpuLogSoftmax.Argmax([]));
    }
}
