using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// Symmetric int8 quantization of a [rows, cols] weight with one scale per row and group of
/// <c>groupSize</c> input columns (the last group of a row may be shorter): scale = absmax / 127 and
/// q = round(w / scale), halves away from zero, so each group's largest magnitude maps to ±127.
/// A group of zeros gets scale 0 and q 0. Scales are [rows, ceil(cols / groupSize)].
/// </summary>
public static class Int8Quantizer
{
    public static int GroupCount(int cols, int groupSize) => (cols + groupSize - 1) / groupSize;

    public static void Quantize(ReadOnlySpan<float> weights, int rows, int cols, int groupSize, Span<sbyte> quantized,
        Span<float> scales)
    {
        var groups = CheckShapes(rows, cols, groupSize, weights.Length, quantized.Length, scales.Length);
        for (var r = 0; r < rows; r++)
        {
            for (var g = 0; g < groups; g++)
            {
                var start = r * cols + g * groupSize;
                var length = Math.Min(groupSize, cols - g * groupSize);
                var scale = MathF.Abs(TensorPrimitives.MaxMagnitude(weights.Slice(start, length))) / 127f;
                scales[r * groups + g] = scale;
                QuantizeGroup(weights.Slice(start, length), scale, quantized.Slice(start, length));
            }
        }
    }

    private static void QuantizeGroup(ReadOnlySpan<float> source, float scale, Span<sbyte> target)
    {
        if (scale == 0f)
        {
            target.Clear();
            return;
        }
        var k = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var divisor = Vector256.Create(scale);
            for (; k + 32 <= source.Length; k += 32)
            {
                var a = Level(Vector256.Create(source.Slice(k, 8)), divisor);
                var b = Level(Vector256.Create(source.Slice(k + 8, 8)), divisor);
                var c = Level(Vector256.Create(source.Slice(k + 16, 8)), divisor);
                var d = Level(Vector256.Create(source.Slice(k + 24, 8)), divisor);
                Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d)).CopyTo(target.Slice(k, 32));
            }
        }
        for (; k < source.Length; k++)
            target[k] = (sbyte)Math.Clamp(MathF.Round(source[k] / scale, MidpointRounding.AwayFromZero), -127f, 127f);
    }

    /// <summary>The scalar tail's formula, 8 lanes at once. Only a subnormal scale can push |w / scale|
    /// past 127.5; the clamp keeps -128 out.</summary>
    private static Vector256<int> Level(Vector256<float> w, Vector256<float> scale) =>
        Vector256.ConvertToInt32(Vector256.Clamp(Vector256.Round(w / scale, MidpointRounding.AwayFromZero),
            Vector256.Create(-127f), Vector256.Create(127f)));

    /// <summary>w = q · scale: the inverse of <see cref="Quantize"/> up to rounding.</summary>
    public static void Dequantize(ReadOnlySpan<sbyte> quantized, ReadOnlySpan<float> scales, int rows, int cols,
        int groupSize, Span<float> weights)
    {
        var groups = CheckShapes(rows, cols, groupSize, weights.Length, quantized.Length, scales.Length);
        for (var r = 0; r < rows; r++)
        {
            for (var g = 0; g < groups; g++)
            {
                var start = r * cols + g * groupSize;
                var length = Math.Min(groupSize, cols - g * groupSize);
                var target = weights.Slice(start, length);
                TensorPrimitives.ConvertTruncating(quantized.Slice(start, length), target);
                TensorPrimitives.Multiply(target, scales[r * groups + g], target);
            }
        }
    }

    private static int CheckShapes(int rows, int cols, int groupSize, int values, int quantized, int scales)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(cols, 1);
        if (groupSize < 1 || groupSize > cols) throw new ArgumentException($"group size {groupSize} must be in 1..{cols}");
        var groups = GroupCount(cols, groupSize);
        if (values != (long)rows * cols) throw new ArgumentException($"expected {rows}×{cols} weights, got {values}");
        if (quantized != (long)rows * cols) throw new ArgumentException($"expected {rows}×{cols} int8 values, got {quantized}");
        if (scales != (long)rows * groups) throw new ArgumentException($"expected {rows}×{groups} scales, got {scales}");
        return groups;
    }
}
