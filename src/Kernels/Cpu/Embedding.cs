using System.Numerics.Tensors;

namespace Dromedary.Kernels.Cpu;

/// <summary>Looks up token rows in an embedding table kept in its stored type, widening each row to fp32.</summary>
public static class CpuEmbedding
{
    /// <param name="table">[vocabulary, cols] elements of <paramref name="type"/>.</param>
    /// <param name="output">[tokenIds.Length, cols].</param>
    public static void Forward(ReadOnlySpan<byte> table, ScalarType type, int cols, ReadOnlySpan<int> tokenIds, Span<float> output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cols, 1);
        var rowBytes = cols * type.SizeOf();
        if (table.Length % rowBytes != 0) throw new ArgumentException($"table of {table.Length} bytes is not whole rows of {cols} {type} values");
        if (output.Length != (long)tokenIds.Length * cols) throw new ArgumentException($"output holds {output.Length} values, expected {tokenIds.Length}×{cols}");
        var vocabulary = table.Length / rowBytes;
        for (var i = 0; i < tokenIds.Length; i++)
        {
            var id = tokenIds[i];
            if ((uint)id >= (uint)vocabulary)
                throw new ArgumentOutOfRangeException(nameof(tokenIds), id, $"token id {id} is outside the vocabulary of {vocabulary} tokens");
            ScalarConvert.ToFloat(table.Slice(id * rowBytes, rowBytes), type, output.Slice(i * cols, cols));
        }
    }
    /// <summary>
    /// The table's gradient through <see cref="Forward"/> on an fp32 table: each output row's gradient is added to
    /// its token's row (a scatter-add; a token seen twice gets both).
    /// </summary>
    /// <param name="dOutput">[tokenIds.Length, cols].</param>
    /// <param name="dTable">[vocabulary, cols], added to.</param>
    public static void Backward(ReadOnlySpan<float> dOutput, int cols, ReadOnlySpan<int> tokenIds, Span<float> dTable)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cols, 1);
        if (dOutput.Length != (long)tokenIds.Length * cols) throw new ArgumentException($"dOutput holds {dOutput.Length} values, expected {tokenIds.Length}×{cols}");
        var vocabulary = dTable.Length / cols;
        for (var i = 0; i < tokenIds.Length; i++)
        {
            var id = tokenIds[i];
            if ((uint)id >= (uint)vocabulary)
                throw new ArgumentOutOfRangeException(nameof(tokenIds), id, $"token id {id} is outside the vocabulary of {vocabulary} tokens");
            var row = dTable.Slice(id * cols, cols);
            TensorPrimitives.Add(row, dOutput.Slice(i * cols, cols), row);
        }
    }
}
