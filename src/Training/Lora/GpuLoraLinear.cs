using Dromedary.Kernels;
using Dromedary.Model.Lora;
using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Training.Lora;

/// <summary>One adapted projection's matrices and their gradients, as views of the engine's device buffers.</summary>
internal readonly record struct GpuLoraViews(ArrayView<float> A, ArrayView<float> B, ArrayView<float> GradientA, ArrayView<float> GradientB);

/// <summary>
/// <see cref="LoraWorkspace"/> in device memory: scratch rows every projection of the pass shares (one runs at a
/// time), and the dropout whose masks <see cref="GpuDropout"/> reproduces from the same hash keys as the CPU's.
/// </summary>
internal sealed class GpuLoraWorkspace(GpuTrainingOps memory, int maxTokens, int maxInFeatures, int rank, LoraDropout dropout)
{
    public LoraDropout Dropout { get; } = dropout;

    /// <summary>[tokens, in]: the dropped-out input, later the dropped-out gradient of the LoRA branch.</summary>
    public ArrayView<float> Dropped { get; } = memory.Floats("lora dropped input", (long)maxTokens * maxInFeatures);

    /// <summary>[tokens, in]: a base input gradient that is to be added to another.</summary>
    public ArrayView<float> BaseInputGradient { get; } = memory.Floats("base input gradient", (long)maxTokens * maxInFeatures);

    /// <summary>[tokens, r]: s·dropout(x)·Aᵀ and its gradient.</summary>
    public ArrayView<float> Low { get; } = memory.Floats("lora low", (long)maxTokens * rank);
    public ArrayView<float> LowGradient { get; } = memory.Floats("lora low gradient", (long)maxTokens * rank);
}

/// <summary>
/// <see cref="LoraLinear"/> on the device, step for step (same products, same scaling points, same masks):
/// y = x·Wᵀ + s·(dropout(x)·Aᵀ)·Bᵀ; the backward recomputes u = s·dropout(x)·Aᵀ, then dB += dyᵀ·u,
/// du = s·dy·B, dA += duᵀ·dropout(x), dx = dy·W + dropout(du·A). The small products run on
/// <see cref="GpuFp32MatMul"/>'s tiles; gradients accumulate in device memory.
/// </summary>
internal sealed class GpuLoraLinear(GpuTrainingOps ops, LinearWeight weight, LoraMatrices? lora, GpuLoraViews views)
{
    private int In => weight.Cols;
    private int Out => weight.Rows;

    /// <param name="x">[n, in]; <paramref name="y"/> [n, out].</param>
    public void Forward(GpuLoraWorkspace work, ArrayView<float> x, int n, ArrayView<float> y, in DropoutKey key)
    {
        ops.Linear(x, n, weight, y);
        if (lora == null) return;
        var low = work.Low.Rows(n, lora.Rank);
        LowRank(work, x, n, key, low);
        ops.Fp32.MultiplyTransposedB(low, views.B, y, n, Out, lora.Rank, accumulate: true);
    }

    /// <summary>
    /// Adds this projection's gradients to its views' dA and dB and writes (or, with <paramref name="accumulate"/>,
    /// adds) the input gradient to <paramref name="dx"/>; a null dx skips it.
    /// </summary>
    public void Backward(GpuLoraWorkspace work, ArrayView<float> x, ArrayView<float> dy, int n, ArrayView<float>? dx, bool accumulate,
        in DropoutKey key)
    {
        dy = dy.Rows(n, Out);
        if (dx is { } input)
        {
            if (!accumulate) ops.LinearBackwardInput(dy, n, weight, input.Rows(n, In));
            else
            {
                var baseGradient = work.BaseInputGradient.Rows(n, In);
                ops.LinearBackwardInput(dy, n, weight, baseGradient);
                ops.Residual.Add(input.Rows(n, In), baseGradient);
            }
        }
        if (lora == null) return;

        var r = lora.Rank;
        var low = work.Low.Rows(n, r);
        var dropped = LowRank(work, x, n, key, low);
        ops.Fp32.MultiplyTransposedA(dy, low, views.GradientB, Out, r, n, accumulate: true);
        var lowGradient = work.LowGradient.Rows(n, r);
        ops.Fp32.Multiply(dy, views.B, lowGradient, n, r, Out, lora.Scaling);
        ops.Fp32.MultiplyTransposedA(lowGradient, dropped, views.GradientA, r, In, n, accumulate: true);
        if (dx is not { } target) return;
        if (!work.Dropout.Active)
        {
            ops.Fp32.Multiply(lowGradient, views.A, target.Rows(n, In), n, In, r, accumulate: true);
            return;
        }
        var droppedGradient = work.Dropped.Rows(n, In); // the dropped input is used up
        ops.Fp32.Multiply(lowGradient, views.A, droppedGradient, n, In, r);
        ApplyDropout(work, droppedGradient, key);
        ops.Residual.Add(target.Rows(n, In), droppedGradient);
    }

    /// <summary>low = s·dropout(x)·Aᵀ; returns dropout(x), which is x itself without dropout.</summary>
    private ArrayView<float> LowRank(GpuLoraWorkspace work, ArrayView<float> x, int n, in DropoutKey key, ArrayView<float> low)
    {
        var dropped = x.Rows(n, In);
        if (work.Dropout.Active)
        {
            var copy = work.Dropped.Rows(n, In);
            dropped.CopyTo(copy);
            ApplyDropout(work, copy, key);
            dropped = copy;
        }
        ops.Fp32.MultiplyTransposedB(dropped, views.A, low, n, lora!.Rank, In, lora.Scaling);
        return dropped;
    }

    private void ApplyDropout(GpuLoraWorkspace work, ArrayView<float> values, in DropoutKey key) =>
        ops.Dropout.Apply(values, work.Dropout.Stream(key, lora!.Layer, lora.Target), work.Dropout.Threshold, work.Dropout.Keep);
}
