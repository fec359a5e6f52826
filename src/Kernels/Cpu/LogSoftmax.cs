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
        Span<float> exp = stackalloc float[Block];
        for (var r = 0; r < rows; r++)
        {
            var row = logits.Slice(r * cols, cols);
            TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), row);
            var sum = 0.0;
            for (var start = 0; start < cols; start += Block)
            {
                var block = exp[..Math.Min(Block, cols - start)];
                TensorPrimitives.Exp(row.Slice(start, block.Length), block);
                sum += TensorPrimitives.Sum<float>(block);
            }
            TensorPrimitives.Subtract(row, (float)Math.Log(sum), row);
        }
    }

    /// <summary>The index of the largest value; the lowest index wins ties.</summary>
    public static int Argmax(ReadOnlySpan<float> row)
    {
        if (row.IsEmpty) throw new ArgumentException("cannot take the argmax of an empty row", nameof(row));
        return TensorPrimitives.IndexOfMax(row);
    }
}
