using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>Log-probabilities over the vocabulary: each row becomes (x − max) − log Σ exp(x − max), as on the CPU.</summary>
public sealed class GpuLogSoftmax
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, int, int> _forward;

    public GpuLogSoftmax(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forward = accelerator.LoadStreamKernel<ArrayView<float>, int, int>(ForwardKernel);
    }

    /// <param name="logits">[rows, cols], replaced in place.</param>
    public void Forward(ArrayView<float> logits, int rows, int cols) => _forward(GpuGroup.Launch(_accelerator, rows), logits, rows, cols);

    /// <summary>
    /// A group per row, three strided passes: max, sum of exponentials, write. Each thread sums about
    /// cols/128 exponentials, all ≤ 1, in fp32: for vocabularies of tens of thousands that is a few hundred
    /// terms a thread, well within fp32's precision (the CPU sums blocks of 1024 the same way).
    /// </summary>
    public static void ForwardKernel(ArrayView<float> logits, int rows, int cols)
    {
        var scratch = SharedMemory.Allocate<float>(2 * GpuGroup.Warps);
        for (var row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            var offset = (long)row * cols;
            var max = float.NegativeInfinity;
            for (var i = Group.IdxX; i < cols; i += GpuGroup.Size) max = XMath.Max(max, logits[offset + i]);
            max = GpuGroup.Max(max, GpuGroup.Turn(scratch, 0));
            var sum = 0f;
            for (var i = Group.IdxX; i < cols; i += GpuGroup.Size) sum += XMath.Exp(logits[offset + i] - max);
            var logSum = XMath.Log(GpuGroup.Sum(sum, GpuGroup.Turn(scratch, 1)));
            for (var i = Group.IdxX; i < cols; i += GpuGroup.Size) logits[offset + i] = logits[offset + i] - max - logSum;
        }
    }
}
