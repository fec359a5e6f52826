using System.Numerics.Tensors;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// A paged KV cache in host memory: per layer, keys and values laid out [block, kvHead, slot, headDim], so one
/// kv head's positions in a block are contiguous and attention reads them as a plain [slots, headDim] matrix.
/// </summary>
internal sealed class CpuPagedKvCache : PagedKvCache
{
    public CpuPagedKvCache(PagedKvShape shape) : base(shape)
    {
        Keys = new NativeBuffer<float>[shape.Layers];
        Values = new NativeBuffer<float>[shape.Layers];
        for (var l = 0; l < shape.Layers; l++)
        {
            Keys[l] = new NativeBuffer<float>(shape.LayerLength, zero: false);
            Values[l] = new NativeBuffer<float>(shape.LayerLength, zero: false);
        }
    }

    public NativeBuffer<float>[] Keys { get; }
    public NativeBuffer<float>[] Values { get; }

    public static long BytesFor(in PagedKvShape shape) => 2L * shape.Layers * shape.LayerLength * sizeof(float);

    public override void Dispose()
    {
        foreach (var buffer in Keys) buffer.Dispose();
        foreach (var buffer in Values) buffer.Dispose();
    }
}

/// <summary>
/// Storing into and attending over a paged KV cache, rows of many sequences at once. Work is split into units of
/// one query row × one kv head (all query heads that share it), run in parallel. A query's scores and weighted
/// sum go block by block through <see cref="CpuAttention"/>'s own routines in the same order, so a row gets the
/// very bits the contiguous cache gives at the same position, whatever else shares the call.
/// Not reentrant: one call at a time per instance.
/// </summary>
public sealed unsafe class CpuPagedAttention
{
    [ThreadStatic] private static float[]? t_scores;

    private readonly WorkerPool _pool;
    private readonly Action<int, int> _body;

    // The call in progress (spans cannot live in fields, so Forward pins them and parks their pointers here).
    private float* _q;
    private float* _keys;
    private float* _values;
    private float* _output;
    private int* _positions;
    private int* _tables;
    private PagedKvShape _shape;
    private int _heads;
    private int _group;

    public CpuPagedAttention(WorkerPool pool)
    {
        _pool = pool;
        _body = RunUnits;
    }

    internal static void Store(CpuPagedKvCache cache, int layer, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int rows, in PagedRows batch)
    {
        var shape = cache.Shape;
        batch.Validate(cache, rows);
        int headDim = shape.HeadDim, width = shape.KvHeads * headDim;
        var keyCache = cache.Keys[layer];
        var valueCache = cache.Values[layer];
        for (var i = 0; i < rows; i++)
        {
            var position = batch.Positions[i];
            var block = batch.BlockTables[i * shape.TableWidth + position / shape.BlockSize];
            var slot = position % shape.BlockSize;
            for (var h = 0; h < shape.KvHeads; h++)
            {
                var target = (((long)block * shape.KvHeads + h) * shape.BlockSize + slot) * headDim;
                keys.Slice(i * width + h * headDim, headDim).CopyTo(keyCache.Slice(target, headDim));
                values.Slice(i * width + h * headDim, headDim).CopyTo(valueCache.Slice(target, headDim));
            }
        }
    }

    /// <param name="q">[rows, heads·headDim].</param>
    /// <param name="output">[rows, heads·headDim]; may be the same span as <paramref name="q"/>.</param>
    internal void Forward(ReadOnlySpan<float> q, CpuPagedKvCache cache, int layer, int rows, int heads, in PagedRows batch, Span<float> output)
    {
        var shape = cache.Shape;
        if (heads < shape.KvHeads || heads % shape.KvHeads != 0)
            throw new ArgumentException($"{heads} query heads do not split evenly over {shape.KvHeads} kv heads");
        if (q.Length < (long)rows * heads * shape.HeadDim || output.Length < (long)rows * heads * shape.HeadDim)
            throw new ArgumentException($"queries and output must hold {rows}×{heads * shape.HeadDim} values");
        batch.Validate(cache, rows);
        if (rows == 0) return;
        fixed (float* pq = q, po = output)
        fixed (int* positions = batch.Positions, tables = batch.BlockTables)
        {
            _q = pq;
            _output = po;
            _positions = positions;
            _tables = tables;
            _keys = cache.Keys[layer].Pointer;
            _values = cache.Values[layer].Pointer;
            (_shape, _heads, _group) = (shape, heads, heads / shape.KvHeads);
            try
            {
                _pool.For(rows * shape.KvHeads, 1, _body);
            }
            finally
            {
                _q = _output = _keys = _values = null;
                _positions = _tables = null;
            }
        }
    }

    private void RunUnits(int start, int end)
    {
        var capacity = _shape.TableWidth * _shape.BlockSize;
        if (t_scores is null || t_scores.Length < capacity) t_scores = new float[capacity];
        fixed (float* scores = t_scores)
        {
            for (var unit = start; unit < end; unit++)
            {
                var (row, kvHead) = Math.DivRem(unit, _shape.KvHeads);
                for (var head = kvHead * _group; head < (kvHead + 1) * _group; head++) Query(row, head, kvHead, scores);
            }
        }
    }

    /// <summary>Attention of one query vector (row, head) over its sequence's positions 0 .. Positions[row].</summary>
    private void Query(int row, int head, int kvHead, float* scores)
    {
        int headDim = _shape.HeadDim, blockSize = _shape.BlockSize;
        var offset = ((long)row * _heads + head) * headDim;
        var context = _positions[row] + 1;
        var table = _tables + (long)row * _shape.TableWidth;
        var scale = (float)(1 / Math.Sqrt(headDim));
        for (var first = 0; first < context; first += blockSize)
        {
            var keys = _keys + (((long)table[first / blockSize] * _shape.KvHeads + kvHead) * blockSize) * headDim;
            CpuAttention.Scores(_q + offset, keys, headDim, headDim, Math.Min(blockSize, context - first), scale, scores + first);
        }
        var weights = new Span<float>(scores, context);
        TensorPrimitives.Subtract(weights, TensorPrimitives.Max(weights), weights);
        TensorPrimitives.Exp(weights, weights);
        var sum = TensorPrimitives.Sum<float>(weights);

        var output = new Span<float>(_output + offset, headDim);
        output.Clear();
        for (var first = 0; first < context; first += blockSize)
        {
            var values = _values + (((long)table[first / blockSize] * _shape.KvHeads + kvHead) * blockSize) * headDim;
            CpuAttention.AccumulateWeighted(values, headDim, headDim, scores + first, Math.Min(blockSize, context - first), _output + offset);
        }
        TensorPrimitives.Multiply(output, 1f / sum, output);
    }
}
