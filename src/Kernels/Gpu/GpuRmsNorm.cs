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

    public GpuRmsNorm(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(ForwardKernel);
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
}
