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
        var cols = weight.Length;
        if (x.Length < (long)rows * cols || y.Length < (long)rows * cols)
            throw new ArgumentException($"x and y must hold {rows}×{cols} values");
        for (var r = 0; r < rows; r++)
        {
            var row = x.Slice(r * cols, cols);
            var output = y.Slice(r * cols, cols);
            var scale = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(row) / cols + eps);
            TensorPrimitives.Multiply(row, scale, output);
            TensorPrimitives.Multiply(output, weight, output);
        }
    }
}
