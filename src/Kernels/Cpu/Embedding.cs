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
}
