using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

// The ILGPU set's handles: device memory the set owns. Activations, caches, vectors and rope tables are arena
// blocks; the large tensors (embedding, linear weights) are their own driver allocations, freed with them.
// Dispose is idempotent so a failed load can free freely.

internal sealed class GpuActivation(int rows, int cols, DeviceBuffer<float> buffer) : Activation(rows, cols)
{
    public ArrayView<float> View => buffer.View;

    public ArrayView<float> RowsView(int rows) => RowsView(0, rows);

    public ArrayView<float> RowsView(int first, int rows)
    {
        if (first < 0 || rows < 0 || first + rows > Rows)
            throw new ArgumentOutOfRangeException(nameof(rows), $"rows {first} .. {first + rows - 1} are outside the activation's {Rows}");
        return buffer.View.SubView((long)first * Cols, (long)rows * Cols);
    }

    public override void Dispose() => buffer.Dispose();
}

internal sealed class GpuVector(DeviceBuffer<float> buffer) : VectorWeight(checked((int)buffer.Length))
{
    public ArrayView<float> View => buffer.View;

    public override void Dispose() => buffer.Dispose();
}

/// <summary>The table in its stored type, as raw bytes; the kernel reads it as floats or as 16-bit halves.</summary>
internal sealed class GpuEmbeddingTable(DeviceBuffer<byte> buffer, ScalarType type, int rows, int cols)
    : EmbeddingTable(rows, cols)
{
    public ScalarType Type { get; } = type;
    public ArrayView<byte> View => buffer.View;

    public override void Dispose() => buffer.Dispose();
}

/// <summary>cos and sin, [maxPositions, headDim/2] each, the CPU table's values.</summary>
internal sealed class GpuRopeTable(DeviceBuffer<float> cos, DeviceBuffer<float> sin, int headDim, int maxPositions)
    : RopeTable(headDim, maxPositions)
{
    public ArrayView<float> Cos => cos.View;
    public ArrayView<float> Sin => sin.View;

    public override void Dispose()
    {
        cos.Dispose();
        sin.Dispose();
    }
}

/// <summary>Keys and values, [layers, capacity, kvHeads·headDim] each: one block per tensor, a sub-view per layer.</summary>
internal sealed class GpuKvCache(DeviceBuffer<float> keys, DeviceBuffer<float> values, int layers, int capacity, int kvHeads, int headDim)
    : KvCache(layers, capacity, kvHeads, headDim)
{
    public int RowWidth => KvHeads * HeadDim;

    public ArrayView<float> Keys(int layer) => Layer(keys, layer);

    public ArrayView<float> Values(int layer) => Layer(values, layer);

    private ArrayView<float> Layer(DeviceBuffer<float> buffer, int layer)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)layer, (uint)Layers, nameof(layer));
        var length = (long)Capacity * RowWidth;
        return buffer.View.SubView(layer * length, length);
    }

    public override void Dispose()
    {
        keys.Dispose();
        values.Dispose();
    }
}

/// <summary>An fp32 linear weight [Rows = out, Cols = in], row-major as in the checkpoint.</summary>
public sealed class GpuFp32Weight : LinearWeight
{
    private readonly DeviceBuffer<float> _buffer;

    private GpuFp32Weight(DeviceBuffer<float> buffer, int rows, int cols) : base(rows, cols) => _buffer = buffer;

    public ArrayView<float> View => _buffer.View;
    public override long Bytes => _buffer.Bytes;

    public static GpuFp32Weight Create(DeviceArena arena, HostStaging staging, in LinearSource source)
    {
        if (source.IsQuantized) throw new ArgumentException("an fp32 weight needs fp32 values", nameof(source));
        var weight = new GpuFp32Weight(arena.Allocate<float>(source.Values.Length), source.Rows, source.Cols);
        staging.Upload(source.Values, weight.View);
        return weight;
    }

    public override void Dispose() => _buffer.Dispose();
}
