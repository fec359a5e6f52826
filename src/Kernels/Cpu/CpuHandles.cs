namespace Dromedary.Kernels.Cpu;

// The CPU set's handles: host memory the set owns. Dispose is idempotent so a failed load can free freely.

internal sealed class CpuActivation(int rows, int cols) : Activation(rows, cols)
{
    public NativeBuffer<float> Buffer { get; } = new((long)rows * cols);

    public Span<float> RowsSpan(int rows) => Buffer.Slice(0, checked(rows * Cols));

    public override void Dispose() => Buffer.Dispose();
}

internal sealed class CpuVector : VectorWeight
{
    public CpuVector(ReadOnlySpan<float> values) : base(values.Length)
    {
        Buffer = new NativeBuffer<float>(values.Length);
        values.CopyTo(Buffer.Span);
    }

    public NativeBuffer<float> Buffer { get; }

    public override void Dispose() => Buffer.Dispose();
}

internal sealed class CpuEmbeddingTable : EmbeddingTable
{
    public CpuEmbeddingTable(ReadOnlySpan<byte> data, ScalarType type, int rows, int cols) : base(rows, cols)
    {
        if (data.Length != (long)rows * cols * type.SizeOf())
            throw new ArgumentException($"embedding [{rows}, {cols}] of {type} needs {(long)rows * cols * type.SizeOf()} bytes, got {data.Length}");
        Type = type;
        Buffer = new NativeBuffer<byte>(data.Length, zero: false);
        data.CopyTo(Buffer.Span);
    }

    public ScalarType Type { get; }
    public NativeBuffer<byte> Buffer { get; }

    public override void Dispose() => Buffer.Dispose();
}

internal sealed class CpuKvCache : KvCache
{
    public CpuKvCache(int layers, int capacity, int kvHeads, int headDim) : base(layers, capacity, kvHeads, headDim)
    {
        var perLayer = (long)capacity * kvHeads * headDim;
        Keys = new NativeBuffer<float>[layers];
        Values = new NativeBuffer<float>[layers];
        for (var l = 0; l < layers; l++)
        {
            Keys[l] = new NativeBuffer<float>(perLayer, zero: false);
            Values[l] = new NativeBuffer<float>(perLayer, zero: false);
        }
    }

    public NativeBuffer<float>[] Keys { get; }
    public NativeBuffer<float>[] Values { get; }

    public int RowWidth => KvHeads * HeadDim;

    public override void Dispose()
    {
        foreach (var buffer in Keys) buffer.Dispose();
        foreach (var buffer in Values) buffer.Dispose();
    }
}
