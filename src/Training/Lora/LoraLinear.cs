using System.Numerics.Tensors;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// One projection of a layer in PEFT's semantics: y = x·Wᵀ + s·(dropout(x)·Aᵀ)·Bᵀ with the frozen base W and,
/// when the adapter targets it, A = lora_A [r, in], B = lora_B [out, r]. The backward recomputes the low-rank
/// activation u = s·dropout(x)·Aᵀ [n, r] from x (n·in·r flops, next to the base's n·in·out) instead of keeping it:
/// dB += dyᵀ·u, du = s·dy·B, dA += duᵀ·dropout(x), dx = dy·W + dropout(du·A).
/// </summary>
internal sealed class LoraLinear(CpuKernelSet set, LinearWeight weight, LoraMatrices? lora)
{
    private int In => weight.Cols;
    private int Out => weight.Rows;

    /// <param name="x">[n, in], the rows of <paramref name="block"/>, whose sequences key the dropout; <paramref name="y"/> [n, out].</param>
    public void Forward(LoraWorkspace work, ReadOnlySpan<float> x, int n, Span<float> y, TokenBlock block)
    {
        set.Linear(x, n, weight, y);
        if (lora == null) return;
        var low = work.Low.AsSpan(0, n * lora.Rank);
        LowRank(work, x, n, block, low);
        work.Gemm.MultiplyTransposedB(low, lora.B, y, n, Out, lora.Rank, accumulate: true);
    }

    /// <summary>
    /// Adds this projection's gradients to <paramref name="dA"/> [r, in] and <paramref name="dB"/> [out, r] (empty
    /// without an adapter), and writes (or, with <paramref name="accumulate"/>, adds) the input gradient to
    /// <paramref name="dx"/>; an empty dx skips it.
    /// </summary>
    /// <param name="x">The forward's input [n, in]; <paramref name="dy"/> the output's gradient [n, out].</param>
    public void Backward(LoraWorkspace work, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int n, Span<float> dx, bool accumulate,
        Span<float> dA, Span<float> dB, TokenBlock block)
    {
        dy = dy[..(n * Out)];
        if (!dx.IsEmpty)
        {
            dx = dx[..(n * In)];
            if (!accumulate) set.LinearBackwardInput(dy, n, weight, dx);
            else
            {
                var baseGradient = work.BaseInputGradient.AsSpan(0, n * In);
                set.LinearBackwardInput(dy, n, weight, baseGradient);
                TensorPrimitives.Add(dx, baseGradient, dx);
            }
        }
        if (lora == null) return;

        var r = lora.Rank;
        var low = work.Low.AsSpan(0, n * r);
        var dropped = LowRank(work, x, n, block, low);
        work.Gemm.MultiplyTransposedA(dy, low, dB, Out, r, n, accumulate: true);
        var lowGradient = work.LowGradient.AsSpan(0, n * r);
        work.Gemm.Multiply(dy, lora.B, lowGradient, n, r, Out);
        TensorPrimitives.Multiply(lowGradient, lora.Scaling, lowGradient);
        work.Gemm.MultiplyTransposedA(lowGradient, dropped, dA, r, In, n, accumulate: true);
        if (dx.IsEmpty) return;
        if (!work.Dropout.Active)
        {
            work.Gemm.Multiply(lowGradient, lora.A, dx, n, In, r, accumulate: true);
            return;
        }
        var droppedGradient = work.Dropped.AsSpan(0, n * In); // the dropped input is used up
        work.Gemm.Multiply(lowGradient, lora.A, droppedGradient, n, In, r);
        work.Dropout.Apply(droppedGradient, In, block, lora.Layer, lora.Target);
        TensorPrimitives.Add(dx, droppedGradient, dx);
    }

    /// <summary>low = s·dropout(x)·Aᵀ; returns dropout(x), which is x itself without dropout.</summary>
    private ReadOnlySpan<float> LowRank(LoraWorkspace work, ReadOnlySpan<float> x, int n, TokenBlock block, Span<float> low)
    {
        var dropped = x[..(n * In)];
        if (work.Dropout.Active)
        {
            var copy = work.Dropped.AsSpan(0, n * In);
            dropped.CopyTo(copy);
            work.Dropout.Apply(copy, In, block, lora!.Layer, lora.Target);
            dropped = copy;
        }
        work.Gemm.MultiplyTransposedB(dropped, lora!.A, low, n, lora.Rank, In);
        TensorPrimitives.Multiply(low, lora.Scaling, low);
        return dropped;
    }
}
