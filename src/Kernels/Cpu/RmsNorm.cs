using System.Numerics;
using System.Numerics.Tensors;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// Root-mean-square normalisation as Hugging Face's LlamaRMSNorm computes it: the mean of squares is
/// accumulated in fp32 (SIMD lanes, so the error stays small for rows of thousands), then
/// y = (x · 1/sqrt(mean + eps)) · weight.
/// </summary>
public static class CpuRmsNorm
{
    /// <param name="x">[rows, weight.Length]; may be the same span as <paramref name="y"/>.</param>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, int rows, Span<float> y)
    {
        var cols = CheckShape(x.Length, y.Length, weight.Length, rows);
        for (var r = 0; r < rows; r++)
        {
            var row = x.Slice(r * cols, cols);
            var output = y.Slice(r * cols, cols);
            TensorPrimitives.Multiply(row, InverseRms(row, eps), output);
            TensorPrimitives.Multiply(output, weight, output);
        }
    }

    /// <summary>
    /// The gradient through <see cref="Forward"/>, with s = 1/rms recomputed from x (one pass, cheaper than storing
    /// it): dx = s·g − (s³/n)·(g·x)·x where g = weight ⊙ dy.
    /// </summary>
    /// <param name="dy">[rows, weight.Length]; may be the same span as <paramref name="dx"/>, but x may not.</param>
    /// <param name="dWeight">Empty for a frozen weight; otherwise s·dy ⊙ x summed over rows is added to it.</param>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, int rows, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight = default)
    {
        var cols = CheckShape(x.Length, dx.Length, weight.Length, rows);
        if (dy.Length < (long)rows * cols) throw new ArgumentException($"dy must hold {rows}×{cols} values");
        if (!dWeight.IsEmpty && dWeight.Length != cols) throw new ArgumentException($"dWeight must hold {cols} values or none");
        for (var r = 0; r < rows; r++)
        {
            var row = x.Slice(r * cols, cols);
            var grad = dy.Slice(r * cols, cols);
            var output = dx.Slice(r * cols, cols);
            var scale = InverseRms(row, eps);
            if (!dWeight.IsEmpty) AddScaledProduct(grad, row, scale, dWeight);
            TensorPrimitives.Multiply(grad, weight, output);
            var projection = -scale * scale * scale / cols * TensorPrimitives.Dot(output, row);
            TensorPrimitives.Multiply(output, scale, output);
            TensorPrimitives.MultiplyAdd(row, projection, output, output);
        }
    }

    private static float InverseRms(ReadOnlySpan<float> row, float eps) =>
        1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(row) / row.Length + eps);

    /// <summary>sum += a ⊙ b · scale; no primitive takes two spans and a scalar, and a temporary would allocate.</summary>
    private static void AddScaledProduct(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float scale, Span<float> sum)
    {
        var i = 0;
        for (; i <= a.Length - Vector<float>.Count; i += Vector<float>.Count)
            (new Vector<float>(sum[i..]) + new Vector<float>(a[i..]) * new Vector<float>(b[i..]) * scale).CopyTo(sum[i..]);
        for (; i < a.Length; i++) sum[i] += a[i] * b[i] * scale;
    }

    private static int CheckShape(int x, int y, int cols, int rows)
    {
        if (x < (long)rows * cols || y < (long)rows * cols) throw new ArgumentException($"x and the output must hold {rows}×{cols} values");
        return cols;
    }
}
