using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// Root-mean-square normalisation as the CPU set computes it: the mean of squares in fp32, then
/// y = (x · 1/sqrt(mean + eps)) · weight, rounded in that order.
/// </summary>
public sealed class GpuRmsNorm
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> _forward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> _backward;

    public GpuRmsNorm(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(ForwardKernel);
        _backward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(
            BackwardKernel);
    }

    /// <param name="x">[rows, weight.Length]; may be the same view as <paramref name="y"/>.</param>
    public void Forward(ArrayView<float> x, ArrayView<float> weight, float eps, int rows, ArrayView<float> y) =>
        _forward(GpuGroup.Launch(_accelerator, rows), x, weight, y, rows, (int)weight.Length, eps);

    /// <summary>
    /// A group per row: each thread squares a strided share of the row, the group sums the shares, and each
    /// thread scales its share. In place is safe: a thread writes only the elements it read.
    /// </summary>
    public static void ForwardKernel(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> y, int rows, int cols, float eps)
    {
        var scratch = SharedMemory.Allocate<float>(2 * GpuGroup.Warps);
        var turn = 0;
        for (var row = Grid.IdxX; row < rows; row += Grid.DimX, turn++)
        {
            var offset = (long)row * cols;
            var squares = 0f;
            for (var i = Group.IdxX; i < cols; i += GpuGroup.Size)
            {
                var value = x[offset + i];
                squares += value * value;
            }
            var scale = 1f / XMath.Sqrt(GpuGroup.Sum(squares, GpuGroup.Turn(scratch, turn)) / cols + eps);
            for (var i = Group.IdxX; i < cols; i += GpuGroup.Size) y[offset + i] = x[offset + i] * scale * weight[i];
        }
    }

    /// <summary>
    /// The input gradient through <see cref="Forward"/> (the norm weight is frozen), as the CPU set computes it with
    /// s = 1/rms recomputed from x: dx = s·g − (s³/n)·(g·x)·x where g = weight ⊙ dy.
    /// </summary>
    /// <param name="dy">[rows, weight.Length]; may be the same view as <paramref name="dx"/>, but x may not.</param>
    public void Backward(ArrayView<float> x, ArrayView<float> weight, float eps, int rows, ArrayView<float> dy, ArrayView<float> dx) =>
        _backward(GpuGroup.Launch(_accelerator, rows), x, weight, dy, dx, rows, (int)weight.Length, eps);

    /// <summary>
    /// A group per row: the sum of squares and g·x reduced together in one pass, then each thread writes its
    /// share. dx may overwrite dy: every read of the row happens before the second reduction's barrier.
    /// </summary>
    public static void BackwardKernel(ArrayView<float> x, ArrayView<float> weight, ArrayView<float> dy, ArrayView<float> dx, int rows, int cols,
        float eps)
    {
        var scratch = SharedMemory.Allocate<float>(2 * GpuGroup.Warps);
        for (var row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            var offset = (long)row * cols;
            float squares = 0f, dot = 0f;
            for (var i = Group.IdxX; i < cols; i += GpuGroup.Size)
            {
                var value = x[offset + i];
                squares += value * value;
                dot += dy[offset + i] * weight[i] * value;
            }
            var scale = 1f / XMath.Sqrt(GpuGroup.Sum(squares, GpuGroup.Turn(scratch, 0)) / cols + eps);
            var projection = -scale * scale * scale / cols * GpuGroup.Sum(dot, GpuGroup.Turn(scratch, 1));
            for (var i = Group.IdxX; i < cols; i += GpuGroup.Size)
                dx[offset + i] = dy[offset + i] * weight[i] * scale + projection * x[offset + i];
            // The next row's first reduction writes half 0, read above only before the second barrier: no extra barrier.
        }
    }
}
