using Dromedary.Kernels;
using Dromedary.Model.Lora;
using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Training.Lora;

/// <summary>One adapted projection's matrices and their gradients, as views of the engine's device buffers.</summary>
internal readonly record struct GpuLoraViews(ArrayView<float> A, ArrayView<float> B, ArrayView<float> GradientA, ArrayView<float> GradientB);

/// <summary>
/// <see cref="LoraWorkspace"/> in device memory: scratch rows for a whole block that every projection of the pass
/// shares (one runs at a time), and the dropout whose masks <see cref="GpuDropout"/> reproduces from the same hash
/// keys as the CPU's.
/// </summary>
/// <param name="b">The engine's views by their names in <see cref="TrainingBuffers"/>.</param>
internal sealed class GpuLoraWorkspace(IReadOnlyDictionary<string, ArrayView<float>> b, LoraDropout dropout)
{
    public LoraDropout Dropout { get; } = dropout;

    /// <summary>[tokens, in]: the dropped-out input, later the dropped-out gradient of the LoRA branch.</summary>
    public ArrayView<float> Dropped { get; } = b["dropped"];

    /// <summary>[tokens, in]: a base input gradient that is to be added to another.</summary>
    public ArrayView<float> BaseInputGradient { get; } = b["base input gradient"];

    /// <summary>[tokens, r]: s·dropout(x)·Aᵀ and its gradient.</summary>
    public ArrayView<float> Low { get; } = b["low"];
    public ArrayView<float> LowGradient { get; } = b["low gradient"];
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
    public void Forward(GpuLoraWorkspace work, ArrayView<float> x, int n, ArrayView<float> y, TokenBlock block)
    {
        ops.Linear(x, n, weight, y);
        if (lora == null) return;
        var low = work.Low.Rows(n, lora.Rank);
        LowRank(work, x, n, block, low);
        ops.Fp32.MultiplyTransposedB(low, views.B, y, n, Out, lora.Rank, accumulate: true);
    }

    /// <summary>
    /// Adds this projection's gradients to its views' dA and dB and writes (or, with <paramref name="accumulate"/>,
    /// adds) the input gradient to <paramref name="dx"/>; a null dx skips it.
    /// </summary>
    public void Backward(GpuLoraWorkspace work, ArrayView<float> x, ArrayView<float> dy, int n, ArrayView<float>? dx, bool accumulate,
        TokenBlock block)
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
        var dropped = LowRank(work, x, n, block, low);
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
        ApplyDropout(work, droppedGradient, block);
        ops.Residual.Add(target.Rows(n, In), droppedGradient);
    }

    /// <summary>low = s·dropout(x)·Aᵀ; returns dropout(x), which is x itself without dropout.</summary>
    private ArrayView<float> LowRank(GpuLoraWorkspace work, ArrayView<float> x, int n, TokenBlock block, ArrayView<float> low)
    {
        var dropped = x.Rows(n, In);
        if (work.Dropout.Active)
        {
            var copy = work.Dropped.Rows(n, In);
            dropped.CopyTo(copy);
            ApplyDropout(work, copy, block);
            dropped = copy;
        }
        ops.Fp32.MultiplyTransposedB(dropped, views.A, low, n, lora!.Rank, In, lora.Scaling);
        return dropped;
    }

    /// <summary>Each sequence's rows of values [block tokens, in] take the mask of its own key, as on the CPU.</summary>
    private void ApplyDropout(GpuLoraWorkspace work, ArrayView<float> values, TokenBlock block)
    {
        var bounds = block.Bounds;
        for (var s = 0; s + 1 < bounds.Length; s++)
            ops.Dropout.Apply(values.SubView((long)bounds[s] * In, (long)(bounds[s + 1] - bounds[s]) * In),
                work.Dropout.Stream(block.Key(s), lora!.Layer, lora.Target), work.Dropout.Threshold, work.Dropout.Keep);
    }
}
