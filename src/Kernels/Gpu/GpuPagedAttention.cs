using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// A paged KV cache in device memory, laid out as the CPU set's ([layer][block, kvHead, slot, headDim]), with
/// device copies of the current call's positions and block tables. The index buffers are taken from the arena
/// before the cache, so an arena sized exactly by the plan has room for their one-time growth.
/// </summary>
internal sealed class GpuPagedKvCache : PagedKvCache
{
    private readonly DeviceBuffer<float> _keys;
    private readonly DeviceBuffer<float> _values;

    private GpuPagedKvCache(PagedKvShape shape, DeviceIndices positions, DeviceIndices tables, DeviceBuffer<float> keys,
        DeviceBuffer<float> values) : base(shape)
    {
        (Positions, Tables, _keys, _values) = (positions, tables, keys, values);
    }

    public DeviceIndices Positions { get; }
    public DeviceIndices Tables { get; }

    public static long BytesFor(in PagedKvShape shape) =>
        2 * DeviceArena.RoundUp(shape.Layers * shape.LayerLength * sizeof(float)) + DeviceArena.RoundUp((long)shape.MaxRows * sizeof(int))
        + DeviceArena.RoundUp((long)shape.MaxRows * shape.TableWidth * sizeof(int));

    public static GpuPagedKvCache Allocate(DeviceArena arena, in PagedKvShape shape)
    {
        var taken = new List<IDisposable>();
        try
        {
            var positions = new DeviceIndices(arena);
            taken.Add(positions);
            positions.Reserve(shape.MaxRows);
            var tables = new DeviceIndices(arena);
            taken.Add(tables);
            tables.Reserve(shape.MaxRows * shape.TableWidth);
            var keys = arena.Allocate<float>(shape.Layers * shape.LayerLength);
            taken.Add(keys);
            return new GpuPagedKvCache(shape, positions, tables, keys, arena.Allocate<float>(shape.Layers * shape.LayerLength));
        }
        catch
        {
            foreach (var item in taken) item.Dispose();
            throw;
        }
    }

    public ArrayView<float> Keys(int layer) => Layer(_keys, layer);

    public ArrayView<float> Values(int layer) => Layer(_values, layer);

    private ArrayView<float> Layer(DeviceBuffer<float> buffer, int layer)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)layer, (uint)Shape.Layers, nameof(layer));
        return buffer.View.SubView(layer * Shape.LayerLength, Shape.LayerLength);
    }

    public override void Dispose()
    {
        Positions.Dispose();
        Tables.Dispose();
        _keys.Dispose();
        _values.Dispose();
    }
}

/// <summary>
/// Storing into and attending over a paged KV cache on the device. Attention runs one group per (query row,
/// head): the group walks its row's positions in tiles of <see cref="GpuGroup.Size"/> with an online softmax, as
/// <see cref="GpuAttention"/> does, finding each position's slot through the row's block table. Blocks are a power
/// of two in size, so a position splits into (table entry, slot) with a shift and a mask.
/// </summary>
public sealed class GpuPagedAttention
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, PagedShape> _store;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, PagedShape> _attend;

    public GpuPagedAttention(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _store = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, PagedShape>(StoreKernel);
        _attend = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, PagedShape>(AttentionKernel);
    }

    /// <param name="keys">[rows, kvHeads·headDim] new keys; <paramref name="values"/> likewise.</param>
    internal void Store(ArrayView<float> keys, ArrayView<float> values, GpuPagedKvCache cache, int layer, int rows, in PagedRows batch)
    {
        var shape = Shape(cache, rows, cache.Shape.KvHeads);
        var (positions, tables) = Upload(cache, rows, batch);
        _store(GpuGroup.LaunchPerElement(_accelerator, (long)rows * shape.KvHeads * shape.HeadDim), keys, values, cache.Keys(layer),
            cache.Values(layer), positions, tables, shape);
    }

    /// <param name="q">[rows, heads·headDim].</param>
    /// <param name="output">[rows, heads·headDim]; may be <paramref name="q"/>, as in <see cref="GpuAttention"/>.</param>
    internal void Forward(ArrayView<float> q, GpuPagedKvCache cache, int layer, int rows, int heads, in PagedRows batch, ArrayView<float> output)
    {
        var shape = Shape(cache, rows, heads);
        var (positions, tables) = Upload(cache, rows, batch);
        _attend(GpuGroup.Launch(_accelerator, (long)rows * heads), q, cache.Keys(layer), cache.Values(layer), output, positions, tables, shape);
    }

    private static (ArrayView<int> Positions, ArrayView<int> Tables) Upload(GpuPagedKvCache cache, int rows, in PagedRows batch) =>
        (cache.Positions.Upload(batch.Positions[..rows]), cache.Tables.Upload(batch.BlockTables[..(rows * cache.Shape.TableWidth)]));

    private static PagedShape Shape(GpuPagedKvCache cache, int rows, int heads)
    {
        var s = cache.Shape;
        return new PagedShape(rows, heads, s.KvHeads, s.HeadDim, s.TableWidth, s.BlockSize, System.Numerics.BitOperations.Log2((uint)s.BlockSize),
            (float)(1 / Math.Sqrt(s.HeadDim)));
    }

    /// <summary>One thread per (row, element of a key row): the key and value go to the row's slot.</summary>
    public static void StoreKernel(ArrayView<float> keys, ArrayView<float> values, ArrayView<float> keyCache, ArrayView<float> valueCache,
        ArrayView<int> positions, ArrayView<int> tables, PagedShape shape)
    {
        var width = shape.KvHeads * shape.HeadDim;
        var total = (long)shape.Rows * width;
        for (var i = GpuGroup.GlobalIndex; i < total; i += GpuGroup.GlobalStride)
        {
            var row = (int)(i / width);
            var column = (int)(i - (long)row * width);
            var head = column / shape.HeadDim;
            var target = Slot(tables, (long)row * shape.TableWidth, positions[row], head, shape) + column - head * shape.HeadDim;
            keyCache[target] = keys[i];
            valueCache[target] = values[i];
        }
    }

    /// <summary>
    /// One group per (row, head). Per tile: thread t scores position t, the group takes the tile's max (one
    /// barrier), each thread publishes its weight to shared memory (a second barrier), and thread d accumulates
    /// output dimensions d and d + 128 over the tile's values, block by block. Every output thread adds up the
    /// weights itself, in the same order, so the softmax sum needs no reduction of its own. Tiles take turns with
    /// two weight and scratch buffers, so a tile never waits for the previous one's readers.
    /// </summary>
    public static void AttentionKernel(ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values, ArrayView<float> output,
        ArrayView<int> positions, ArrayView<int> tables, PagedShape shape)
    {
        var weightTurns = SharedMemory.Allocate<float>(2 * GpuGroup.Size);
        var scratchTurns = SharedMemory.Allocate<float>(2 * GpuGroup.Warps);
        int headDim = shape.HeadDim, group = shape.Heads / shape.KvHeads;
        int tid = Group.IdxX, d0 = tid, d1 = tid + GpuGroup.Size;
        var units = (long)shape.Rows * shape.Heads;
        var turn = 0;
        for (long unit = Grid.IdxX; unit < units; unit += Grid.DimX)
        {
            var row = (int)(unit / shape.Heads);
            var kvHead = (int)(unit % shape.Heads) / group;
            var query = unit * headDim;
            var table = (long)row * shape.TableWidth;
            var end = positions[row] + 1;

            float max = float.NegativeInfinity, sum = 0f, out0 = 0f, out1 = 0f;
            for (var tile = 0; tile < end; tile += GpuGroup.Size, turn++)
            {
                var t = tile + tid;
                var score = t < end ? GpuAttention.Dot(q, query, keys, Slot(tables, table, t, kvHead, shape), headDim) * shape.Scale : float.NegativeInfinity;
                var newMax = XMath.Max(max, GpuGroup.Max(score, GpuGroup.Turn(scratchTurns, turn)));
                var rescale = XMath.Exp(max - newMax);
                var weights = GpuGroup.Turn(weightTurns, turn);
                weights[tid] = t < end ? XMath.Exp(score - newMax) : 0f;
                Group.Barrier();
                var count = XMath.Min(GpuGroup.Size, end - tile);
                if (d0 < headDim)
                {
                    var total = 0f;
                    for (var j = 0; j < count; j++) total += weights[j];
                    sum = sum * rescale + total;
                    out0 = out0 * rescale + WeightedSum(weights, values, tables, table, tile, count, kvHead, d0, shape);
                }
                if (d1 < headDim) out1 = out1 * rescale + WeightedSum(weights, values, tables, table, tile, count, kvHead, d1, shape);
                max = newMax;
            }

            var inverse = 1f / sum;
            if (d0 < headDim) output[query + d0] = out0 * inverse;
            if (d1 < headDim) output[query + d1] = out1 * inverse;
        }
    }

    /// <summary>Where position <paramref name="position"/>'s row of kv head <paramref name="kvHead"/> starts.</summary>
    private static long Slot(ArrayView<int> tables, long table, int position, int kvHead, PagedShape shape)
    {
        long block = tables[table + (position >> shape.BlockShift)];
        return ((block * shape.KvHeads + kvHead) * shape.BlockSize + (position & (shape.BlockSize - 1))) * shape.HeadDim;
    }

    /// <summary>Σ weights[j] · value of position first + j, dimension d, over j &lt; count: a run of slots per block.</summary>
    private static float WeightedSum(ArrayView<float> weights, ArrayView<float> values, ArrayView<int> tables, long table, int first,
        int count, int kvHead, int d, PagedShape shape)
    {
        var total = 0f;
        for (var run = 0; run < count; run += shape.BlockSize - ((first + run) & (shape.BlockSize - 1)))
        {
            var slot = Slot(tables, table, first + run, kvHead, shape) + d;
            var length = XMath.Min(count - run, shape.BlockSize - ((first + run) & (shape.BlockSize - 1)));
            for (var j = 0; j < length; j++, slot += shape.HeadDim) total += weights[run + j] * values[slot];
        }
        return total;
    }
}

/// <summary>A paged call's sizes, passed to the kernels as one value; BlockShift = log2(BlockSize).</summary>
public readonly record struct PagedShape(int Rows, int Heads, int KvHeads, int HeadDim, int TableWidth, int BlockSize, int BlockShift, float Scale);
