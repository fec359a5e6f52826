using System.Numerics.Tensors;

namespace Dromedary.Kernels.Cpu;

/// <summary>Log-probabilities over the vocabulary, and greedy token choice.</summary>
public static class CpuLogSoftmax
{
    /// <summary>Exponentials summed per block in fp32 (each ≤ 1, so exact enough), blocks summed in double.</summary>
    private const int Block = 1024;

    /// <summary>Each row of [rows, cols] becomes x − max − log Σ exp(x − max), in place.</summary>
    public static void Forward(Span<float> logits, int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cols, 1);
        if (logits.Length < (long)rows * cols) throw new ArgumentException($"logits must hold {rows}×{cols} values");
        for (var r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * cols, cols);
            var max = TensorPrimitives.Max(row);
            var sum = SumExp(row, max);
            TensorPrimitives.Subtract(row, max, row);
            TensorPrimitives.Subtract(row, (float)Math.Log(sum), row);
        }
    }

    /// <summary>Σ exp(x − max) over a row, without changing it.</summary>
    internal static double SumExp(ReadOnlySpan<float> row, float max)
    {
        Span<float> exp = stackalloc float[Block];
        var sum = 0.0;
        for (var start = 0; start < row.Length; start += Block)
        {
            var block = exp[..Math.Min(Block, row.Length - start)];
            TensorPrimitives.Subtract(row.Slice(start, block.Length), max, block);
            TensorPrimitives.Exp(block, block);
            sum += TensorPrimitives.Sum<float>(block);
        }
        return sum;
    }

    /// <summary>The index of the largest value; the lowest index wins ties.</summary>
    public static int Argmax(ReadOnlySpan<float> row)
    {
        if (row.IsEmpty) throw new ArgumentException("cannot take the argmax of an empty row", nameof(row));
        return TensorPrimitives.IndexOfMax(row);
    }
}

/// <summary>
/// The training loss on top of the log-softmax, fused with its gradient: per row, loss = log Σ exp(x) − x[target]
/// and dx = scale·(softmax(x) − onehot(target)). The softmax is written straight into dLogits, so no second
/// [rows × vocab] buffer exists even when dLogits is the logits' own memory.
/// </summary>
public static class CpuCrossEntropy
{
    /// <summary>A target that is not counted (prompt tokens, padding), as in PyTorch.</summary>
    public const int IgnoreIndex = -100;

    /// <param name="logits">[targets.Length, vocab].</param>
    /// <param name="scale">Multiplies the gradient, e.g. 1/counted over the whole batch for a mean loss.</param>
    /// <param name="dLogits">[targets.Length, vocab]; may be the same span as logits. Ignored rows are zeroed.</param>
    /// <param name="lossSum">Σ of the counted rows' losses (unscaled).</param>
    public static void ForwardBackward(ReadOnlySpan<float> logits, int vocab, ReadOnlySpan<int> targets, float scale, Span<float> dLogits,
        out double lossSum, out int counted)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 1);
        var rows = targets.Length;
        if (logits.Length < (long)rows * vocab || dLogits.Length < (long)rows * vocab)
            throw new ArgumentException($"logits and dLogits must hold {rows}×{vocab} values");
        lossSum = 0;
        counted = 0;
        for (var r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * vocab, vocab);
            var grad = dLogits.Slice(r * vocab, vocab);
            var target = targets[r];
            if (target == IgnoreIndex)
            {
                grad.Clear();
                continue;
            }
            if ((uint)target >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets), target, $"target {target} of row {r} is outside the vocabulary of {vocab}");
            var max = TensorPrimitives.Max(row);
            var logSum = Math.Log(CpuLogSoftmax.SumExp(row, max));
            lossSum += logSum - ((double)row[target] - max);
            counted++;
            // Everything of row that the loss needs is read: from here grad may overwrite it.
            TensorPrimitives.Subtract(row, max, grad);
            TensorPrimitives.Subtract(grad, (float)logSum, grad);
            TensorPrimitives.Exp(grad, grad);
            TensorPrimitives.Multiply(grad, scale, grad);
            grad[target] -= scale;
        }
    }
}
