using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// Causal grouped-query attention over a KV cache, flash-style: one group per (query row, head) walks the keys
/// in tiles of <see cref="GpuGroup.Size"/> with an online softmax (running max and sum, the partial output
/// rescaled when the max grows), so no score row is ever stored. Query head h reads kv head h / (heads / kvHeads);
/// scores are scaled by 1/sqrt(headDim) as on the CPU. A decode step (one query row) has too few
/// (row, head) pairs to fill a GPU, so its context is split into pieces of <see cref="SplitKeys"/> keys, each
/// piece's (max, sum, partial output) goes to a scratch buffer, and a second kernel merges the pieces.
/// </summary>
public sealed class GpuAttention
{
    /// <summary>Head dimensions up to two per thread: LLaMA's 128 with room to spare.</summary>
    public const int MaxHeadDim = 2 * GpuGroup.Size;

    /// <summary>Keys per piece of a split decode: two tiles, so a 2k context gives 8 pieces per head.</summary>
    public const int SplitKeys = 2 * GpuGroup.Size;

    private readonly Accelerator _accelerator;
    private readonly ArrayView<float> _partials;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape> _pieces;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, AttentionShape> _merge;

    /// <param name="partials">scratch for split decode; its size caps the pieces per head (at least one).</param>
    public GpuAttention(Accelerator accelerator, ArrayView<float> partials)
    {
        _accelerator = accelerator;
        _partials = partials;
        _pieces = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(PiecesKernel);
        _merge = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, AttentionShape>(MergeKernel);
    }

    /// <param name="q">[rows, heads·headDim]; row i sits at position startPosition + i.</param>
    /// <param name="keys">one layer's cache, [capacity, kvHeads·headDim], positions 0 .. startPosition + rows − 1 filled.</param>
    /// <param name="output">
    /// [rows, heads·headDim]; may be <paramref name="q"/>: a (row, head)'s query is read only by its own group,
    /// and only before the last tile's barrier, after which the group writes that (row, head)'s output.
    /// </param>
    public void Forward(ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values, int rows, int startPosition,
        int heads, int kvHeads, int headDim, ArrayView<float> output)
    {
        var context = startPosition + rows;
        var splits = 1;
        if (rows == 1)
        {
            var fit = (int)Math.Min(int.MaxValue, _partials.Length / ((long)heads * (headDim + 2)));
            splits = Math.Clamp((context + SplitKeys - 1) / SplitKeys, 1, Math.Max(1, fit));
        }
        // Equal pieces, and no empty one: the last piece starts below the context.
        var pieceKeys = (context + splits - 1) / splits;
        splits = (context + pieceKeys - 1) / pieceKeys;
        var shape = new AttentionShape(rows, startPosition, heads, kvHeads, headDim, splits, pieceKeys, (float)(1 / Math.Sqrt(headDim)));
        _pieces(GpuGroup.Launch(_accelerator, (long)rows * heads * splits), q, keys, values, output, _partials, shape);
        if (splits > 1) _merge(GpuGroup.Launch(_accelerator, (long)rows * heads), _partials, output, shape);
    }

    /// <summary>
    /// One group per (row, head, piece). Per tile: thread t scores key t, the group takes the tile's max (one
    /// barrier), each thread publishes its key's weight to shared memory (a second barrier), and thread d
    /// accumulates output dimensions d and d + 128 over the tile's values. Every output thread also adds up the
    /// weights itself, in the same order, so the softmax sum needs no reduction of its own. Tiles take turns with
    /// two weight and scratch buffers, so a tile never waits for the previous one's readers. With one piece the
    /// normalised output is written directly; otherwise (max, sum, unnormalised output) go to the partials.
    /// </summary>
    public static void PiecesKernel(ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values, ArrayView<float> output,
        ArrayView<float> partials, AttentionShape shape)
    {
        var weightTurns = SharedMemory.Allocate<float>(2 * GpuGroup.Size);
        var scratchTurns = SharedMemory.Allocate<float>(2 * GpuGroup.Warps);
        int headDim = shape.HeadDim, kvWidth = shape.KvHeads * headDim, group = shape.Heads / shape.KvHeads;
        int tid = Group.IdxX, d0 = tid, d1 = tid + GpuGroup.Size;
        var units = (long)shape.Rows * shape.Heads * shape.Splits;
        var turn = 0;
        for (long unit = Grid.IdxX; unit < units; unit += Grid.DimX)
        {
            var piece = (int)(unit % shape.Splits);
            var rowHead = unit / shape.Splits;
            var row = (int)(rowHead / shape.Heads);
            var query = rowHead * headDim;
            var kvOffset = (int)(rowHead % shape.Heads) / group * headDim;
            var first = piece * shape.PieceKeys;
            var end = XMath.Min(shape.StartPosition + row + 1, first + shape.PieceKeys);

            float max = float.NegativeInfinity, sum = 0f, out0 = 0f, out1 = 0f;
            for (var tile = first; tile < end; tile += GpuGroup.Size, turn++)
            {
                var t = tile + tid;
                var score = t < end ? Dot(q, query, keys, (long)t * kvWidth + kvOffset, headDim) * shape.Scale : float.NegativeInfinity;
                var newMax = XMath.Max(max, GpuGroup.Max(score, GpuGroup.Turn(scratchTurns, turn)));
                var rescale = XMath.Exp(max - newMax);
                var weights = GpuGroup.Turn(weightTurns, turn);
                weights[tid] = t < end ? XMath.Exp(score - newMax) : 0f;
                Group.Barrier();
                var count = XMath.Min(GpuGroup.Size, end - tile);
                var valueRow = (long)tile * kvWidth + kvOffset;
                if (d0 < headDim)
                {
                    sum = sum * rescale + Total(weights, count);
                    out0 = out0 * rescale + WeightedSum(weights, values, valueRow + d0, kvWidth, count);
                }
                if (d1 < headDim) out1 = out1 * rescale + WeightedSum(weights, values, valueRow + d1, kvWidth, count);
                max = newMax;
            }

            if (shape.Splits == 1)
            {
                var inverse = 1f / sum;
                if (d0 < headDim) output[query + d0] = out0 * inverse;
                if (d1 < headDim) output[query + d1] = out1 * inverse;
            }
            else
            {
                var partial = unit * (headDim + 2);
                if (tid == 0)
                {
                    partials[partial] = max;
                    partials[partial + 1] = sum;
                }
                if (d0 < headDim) partials[partial + 2 + d0] = out0;
                if (d1 < headDim) partials[partial + 2 + d1] = out1;
            }
        }
    }

    /// <summary>
    /// One group per (row, head): each piece's sum and output are rescaled to the overall max and added. Every
    /// thread recomputes the max and the total in the same order (a few pieces), so no reduction is needed.
    /// </summary>
    public static void MergeKernel(ArrayView<float> partials, ArrayView<float> output, AttentionShape shape)
    {
        int headDim = shape.HeadDim, stride = headDim + 2;
        var rowHeads = shape.Rows * shape.Heads;
        for (var rowHead = Grid.IdxX; rowHead < rowHeads; rowHead += Grid.DimX)
        {
            var first = (long)rowHead * shape.Splits * stride;
            var max = float.NegativeInfinity;
            for (var p = 0; p < shape.Splits; p++) max = XMath.Max(max, partials[first + p * stride]);
            var total = 0f;
            for (var p = 0; p < shape.Splits; p++) total += partials[first + p * stride + 1] * XMath.Exp(partials[first + p * stride] - max);
            var inverse = 1f / total;
            for (var d = Group.IdxX; d < headDim; d += GpuGroup.Size)
            {
                var value = 0f;
                for (var p = 0; p < shape.Splits; p++)
                    value += partials[first + p * stride + 2 + d] * XMath.Exp(partials[first + p * stride] - max);
                output[(long)rowHead * headDim + d] = value * inverse;
            }
        }
    }

    /// <summary>
    /// q[query..] · keys[key..] over headDim, four independent chains. All threads of a group read the same query
    /// element at once, a broadcast the cache serves, so the query needs no staging in shared memory.
    /// </summary>
    private static float Dot(ArrayView<float> q, long query, ArrayView<float> keys, long key, int headDim)
    {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        var d = 0;
        for (; d + 4 <= headDim; d += 4)
        {
            s0 += q[query + d] * keys[key + d];
            s1 += q[query + d + 1] * keys[key + d + 1];
            s2 += q[query + d + 2] * keys[key + d + 2];
            s3 += q[query + d + 3] * keys[key + d + 3];
        }
        for (; d < headDim; d++) s0 += q[query + d] * keys[key + d];
        return s0 + s1 + (s2 + s3);
    }

    /// <summary>Σ weights[j] over j &lt; count, in order.</summary>
    private static float Total(ArrayView<float> weights, int count)
    {
        var total = 0f;
        for (var j = 0; j < count; j++) total += weights[j];
        return total;
    }

    /// <summary>Σ weights[j] · values[value + j·stride] over j &lt; count, four independent chains.</summary>
    private static float WeightedSum(ArrayView<float> weights, ArrayView<float> values, long value, int stride, int count)
    {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        var j = 0;
        for (; j + 4 <= count; j += 4, value += 4L * stride)
        {
            s0 += weights[j] * values[value];
            s1 += weights[j + 1] * values[value + stride];
            s2 += weights[j + 2] * values[value + 2L * stride];
            s3 += weights[j + 3] * values[value + 3L * stride];
        }
        for (; j < count; j++, value += stride) s0 += weights[j] * values[value];
        return s0 + s1 + (s2 + s3);
    }
}

/// <summary>The attention call's sizes, passed to the kernels as one value.</summary>
public readonly record struct AttentionShape(int Rows, int StartPosition, int Heads, int KvHeads, int HeadDim, int Splits,
    int PieceKeys, float Scale);
