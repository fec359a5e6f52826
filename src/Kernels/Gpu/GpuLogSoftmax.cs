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

/// <summary>
/// The training loss fused with its gradient, as <see cref="Cpu.CpuCrossEntropy"/>: per row, loss = log Σ exp(x) −
/// x[target] and dx = scale·(softmax(x) − onehot(target)), written over the logits, so no second [rows × vocab]
/// buffer exists; each group walks its row's vocabulary in strided chunks. Rows whose target is −100 get a zero
/// gradient and a zero loss.
/// </summary>
public sealed class GpuCrossEntropy
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, float> _forwardBackward;

    public GpuCrossEntropy(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forwardBackward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, float>(ForwardBackwardKernel);
    }

    /// <param name="logits">[targets.Length, vocab], replaced by their gradient.</param>
    /// <param name="targets">one per row, −100 or a token id (checked by the caller).</param>
    /// <param name="losses">[targets.Length]: each row's unscaled loss, 0 for ignored rows.</param>
    public void ForwardBackward(ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> losses, int vocab, float scale)
    {
        var rows = (int)targets.Length;
        if (rows == 0) return;
        _forwardBackward(GpuGroup.Launch(_accelerator, rows), logits, targets, losses, rows, vocab, scale);
    }

    /// <summary>A group per row: max, sum of exponentials, then the gradient written in place (see GpuLogSoftmax).</summary>
    public static void ForwardBackwardKernel(ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> losses, int rows, int vocab,
        float scale)
    {
        var scratch = SharedMemory.Allocate<float>(2 * GpuGroup.Warps);
        for (var row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            var offset = (long)row * vocab;
            var target = targets[row];
            if (target == Cpu.CpuCrossEntropy.IgnoreIndex)
            {
                for (var i = Group.IdxX; i < vocab; i += GpuGroup.Size) logits[offset + i] = 0f;
                if (Group.IdxX == 0) losses[row] = 0f;
                continue;
            }
            var max = float.NegativeInfinity;
            for (var i = Group.IdxX; i < vocab; i += GpuGroup.Size) max = XMath.Max(max, logits[offset + i]);
            max = GpuGroup.Max(max, GpuGroup.Turn(scratch, 0));
            var sum = 0f;
            for (var i = Group.IdxX; i < vocab; i += GpuGroup.Size) sum += XMath.Exp(logits[offset + i] - max);
            var targetLogit = logits[offset + target];
            // Every thread has read the row once the sum's barrier is passed: from here the gradient may overwrite it.
            var logSum = XMath.Log(GpuGroup.Sum(sum, GpuGroup.Turn(scratch, 1)));
            if (Group.IdxX == 0) losses[row] = logSum - (targetLogit - max);
            for (var i = Group.IdxX; i < vocab; i += GpuGroup.Size)
            {
                var gradient = XMath.Exp(logits[offset + i] - max - logSum) * scale;
                logits[offset + i] = i == target ? gradient - scale : gradient;
            }
        }
    }
}
