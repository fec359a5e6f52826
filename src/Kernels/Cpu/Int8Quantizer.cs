using System.Numerics.Tensors;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// Symmetric int8 quantization of a [rows, cols] weight with one scale per row and group of
/// <c>groupSize</c> input columns (the last group of a row may be shorter): scale = absmax / 127 and
/// q = round(w / scale), halves away from zero, so each group's largest magnitude maps to ±127.
/// A group of zeros gets scale 0 and q 0. Scales are [rows, ceil(cols / groupSize)].
/// </summary>
public static class Int8Quantizer
{
    // Groups are converted through a small stack buffer so any group size works without allocating.
    private const int Chunk = 512;

    public static int GroupCount(int cols, int groupSize) => (cols + groupSize - 1) / groupSize;

    public static void Quantize(ReadOnlySpan<float> weights, int rows, int cols, int groupSize, Span<sbyte> quantized,
        Span<float> scales)
    {
        var groups = CheckShapes(rows, cols, groupSize, weights.Length, quantized.Length, scales.Length);
        Span<float> buffer = stackalloc float[Chunk];
        for (var r = 0; r < rows; r++)
        {
            for (var g = 0; g < groups; g++)
            {
                var start = r * cols + g * groupSize;
                var length = Math.Min(groupSize, cols - g * groupSize);
                var source = weights.Slice(start, length);
                var target = quantized.Slice(start, length);
                var scale = MathF.Abs(TensorPrimitives.MaxMagnitude(source)) / 127f;
                scales[r * groups + g] = scale;
                if (scale == 0f)
                {
                    target.Clear();
                    continue;
                }
                for (var c = 0; c < length; c += Chunk)
                {
                    var n = Math.Min(Chunk, length - c);
                    var scaled = buffer[..n];
                    TensorPrimitives.Divide(source.Slice(c, n), scale, scaled);
                    TensorPrimitives.Round(scaled, MidpointRounding.AwayFromZero, scaled);
                    // Only a subnormal scale can push |w / scale| past 127.5; clamp keeps -128 out.
                    TensorPrimitives.Min(scaled, 127f, scaled);
                    TensorPrimitives.Max(scaled, -127f, scaled);
                    TensorPrimitives.ConvertTruncating(scaled, target.Slice(c, n));
                }
            }
        }
    }

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
