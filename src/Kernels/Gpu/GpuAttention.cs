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
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, AttentionShape> _backwardQueries;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, AttentionShape> _backwardKeys;

    /// <param name="partials">scratch for split decode; its size caps the pieces per head (at least one).</param>
    public GpuAttention(Accelerator accelerator, ArrayView<float> partials)
    {
        _accelerator = accelerator;
        _partials = partials;
        _pieces = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(PiecesKernel);
        _merge = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, AttentionShape>(MergeKernel);
        _backwardQueries = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, AttentionShape>(BackwardQueriesKernel);
        _backwardKeys = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(BackwardKeysKernel);
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
    /// The gradients through <see cref="Forward"/> for the same arguments, flash-style: nothing of the forward is
    /// kept, the probabilities are recomputed from q and the keys. A first kernel, one group per (row, head), finds
    /// the row's log-sum-exp L and D = Σ P_t·dP_t (dP_t = dO·v_t) and writes dQ = scale·Σ dS_t·k_t with
    /// dS_t = P_t·(dP_t − D), P_t = exp(s_t − L); it leaves (L, D) in the partials. A second kernel, one group per
    /// (key position, kv head), sums over every query (row, head) that sees that key: dK_t = scale·Σ dS·q and
    /// dV_t = Σ P·dO. Each gradient has one writer, so nothing is atomic and results do not depend on the launch.
    /// </summary>
    /// <param name="dOutput">[rows, heads·headDim], the gradient of Forward's output.</param>
    /// <param name="dQ">[rows, heads·headDim]; not <paramref name="q"/>, which the second kernel reads after the first wrote dQ.</param>
    /// <param name="dKeys">
    /// [startPosition + rows (or more), kvHeads·headDim]: positions 0 .. startPosition + rows − 1 are overwritten with
    /// the gradient of the keys there, as on the CPU. Likewise <paramref name="dValues"/>.
    /// </param>
    public void Backward(ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values, int rows, int startPosition,
        int heads, int kvHeads, int headDim, ArrayView<float> dOutput, ArrayView<float> dQ, ArrayView<float> dKeys, ArrayView<float> dValues)
    {
        if (headDim > MaxHeadDim) throw new ArgumentException($"head dimension {headDim} is over the {MaxHeadDim} the kernels handle");
        if (2L * rows * heads > _partials.Length)
            throw new ArgumentException($"{rows} rows of {heads} heads need {2L * rows * heads} floats of scratch; the partials hold {_partials.Length}");
        if (rows == 0) return;
        var context = startPosition + rows;
        var shape = new AttentionShape(rows, startPosition, heads, kvHeads, headDim, 1, context, (float)(1 / Math.Sqrt(headDim)));
        _backwardQueries(GpuGroup.Launch(_accelerator, (long)rows * heads), q, keys, values, dOutput, dQ, _partials, shape);
        _backwardKeys(GpuGroup.Launch(_accelerator, (long)context * kvHeads), q, keys, values, dOutput, _partials, dKeys, dValues, shape);
    }

    /// <summary>
    /// One group per (row, head), three sweeps over the keys in tiles of <see cref="GpuGroup.Size"/>, thread t
    /// scoring key t: the running max and sum give L; then D; then the tile's dS go to shared memory and thread d
    /// accumulates dQ's dimensions d and d + 128, as the forward accumulates its output.
    /// </summary>
    public static void BackwardQueriesKernel(ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values, ArrayView<float> dOutput,
        ArrayView<float> dQ, ArrayView<float> stats, AttentionShape shape)
    {
        var weightTurns = SharedMemory.Allocate<float>(2 * GpuGroup.Size);
        var scratchTurns = SharedMemory.Allocate<float>(2 * GpuGroup.Warps);
        int headDim = shape.HeadDim, kvWidth = shape.KvHeads * headDim, group = shape.Heads / shape.KvHeads;
        int tid = Group.IdxX, d0 = tid, d1 = tid + GpuGroup.Size;
        var units = (long)shape.Rows * shape.Heads;
        var turn = 0;
        for (long unit = Grid.IdxX; unit < units; unit += Grid.DimX)
        {
            var row = (int)(unit / shape.Heads);
            var query = unit * headDim;
            var kvOffset = (int)(unit % shape.Heads) / group * headDim;
            var end = shape.StartPosition + row + 1;

            float max = float.NegativeInfinity, sum = 0f;
            for (var tile = 0; tile < end; tile += GpuGroup.Size)
            {
                var t = tile + tid;
                var score = t < end ? Dot(q, query, keys, (long)t * kvWidth + kvOffset, headDim) * shape.Scale : float.NegativeInfinity;
                var newMax = XMath.Max(max, GpuGroup.Max(score, GpuGroup.Turn(scratchTurns, turn++)));
                var tileSum = GpuGroup.Sum(t < end ? XMath.Exp(score - newMax) : 0f, GpuGroup.Turn(scratchTurns, turn++));
                sum = sum * XMath.Exp(max - newMax) + tileSum;
                max = newMax;
            }
            var logSum = max + XMath.Log(sum);

            var dot = 0f;
            for (var tile = 0; tile < end; tile += GpuGroup.Size)
            {
                var (probability, dProbability) = Probability(q, keys, values, dOutput, query, tile + tid, end, kvWidth, kvOffset, logSum, shape);
                dot += probability * dProbability;
            }
            var d = GpuGroup.Sum(dot, GpuGroup.Turn(scratchTurns, turn++));

            float dq0 = 0f, dq1 = 0f;
            for (var tile = 0; tile < end; tile += GpuGroup.Size, turn++)
            {
                var (probability, dProbability) = Probability(q, keys, values, dOutput, query, tile + tid, end, kvWidth, kvOffset, logSum, shape);
                var dScores = GpuGroup.Turn(weightTurns, turn);
                dScores[tid] = probability * (dProbability - d);
                Group.Barrier();
                var count = XMath.Min(GpuGroup.Size, end - tile);
                var keyRow = (long)tile * kvWidth + kvOffset;
                if (d0 < headDim) dq0 += WeightedSum(dScores, keys, keyRow + d0, kvWidth, count);
                if (d1 < headDim) dq1 += WeightedSum(dScores, keys, keyRow + d1, kvWidth, count);
            }
            if (d0 < headDim) dQ[query + d0] = dq0 * shape.Scale;
            if (d1 < headDim) dQ[query + d1] = dq1 * shape.Scale;
            if (tid == 0)
            {
                stats[2 * unit] = logSum;
                stats[2 * unit + 1] = d;
            }
        }
    }

    /// <summary>
    /// One group per (key position t, kv head): the queries that see key t are rows max(0, t − start) .. rows − 1,
    /// each with the kv head's <c>heads / kvHeads</c> query heads. In tiles of <see cref="GpuGroup.Size"/> such
    /// (row, head) pairs, thread j recomputes pair j's P and dS into shared memory, then thread d accumulates
    /// dimensions d and d + 128 of dK and dV over the tile.
    /// </summary>
    public static void BackwardKeysKernel(ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values, ArrayView<float> dOutput,
        ArrayView<float> stats, ArrayView<float> dKeys, ArrayView<float> dValues, AttentionShape shape)
    {
        var probabilityTurns = SharedMemory.Allocate<float>(2 * GpuGroup.Size);
        var dScoreTurns = SharedMemory.Allocate<float>(2 * GpuGroup.Size);
        int headDim = shape.HeadDim, kvWidth = shape.KvHeads * headDim, group = shape.Heads / shape.KvHeads, width = shape.Heads * headDim;
        int tid = Group.IdxX, d0 = tid, d1 = tid + GpuGroup.Size;
        var context = shape.StartPosition + shape.Rows;
        var units = (long)context * shape.KvHeads;
        var turn = 0;
        for (long unit = Grid.IdxX; unit < units; unit += Grid.DimX)
        {
            var t = (int)(unit / shape.KvHeads);
            var kvHead = (int)(unit % shape.KvHeads);
            var key = (long)t * kvWidth + kvHead * headDim;
            var firstRow = XMath.Max(0, t - shape.StartPosition);
            var pairs = (shape.Rows - firstRow) * group;
            float dk0 = 0f, dk1 = 0f, dv0 = 0f, dv1 = 0f;
            for (var tile = 0; tile < pairs; tile += GpuGroup.Size, turn++)
            {
                var pair = tile + tid;
                var probabilities = GpuGroup.Turn(probabilityTurns, turn);
                var dScores = GpuGroup.Turn(dScoreTurns, turn);
                float probability = 0f, dScore = 0f;
                if (pair < pairs)
                {
                    var rowHead = (long)(firstRow + pair / group) * shape.Heads + kvHead * group + pair % group;
                    var query = rowHead * headDim;
                    var score = Dot(q, query, keys, key, headDim) * shape.Scale;
                    probability = XMath.Exp(score - stats[2 * rowHead]);
                    dScore = probability * (Dot(dOutput, query, values, key, headDim) - stats[2 * rowHead + 1]);
                }
                probabilities[tid] = probability;
                dScores[tid] = dScore;
                Group.Barrier();
                var count = XMath.Min(GpuGroup.Size, pairs - tile);
                for (var j = 0; j < count; j++)
                {
                    var pairAt = tile + j;
                    var query = (long)(firstRow + pairAt / group) * width + (kvHead * group + pairAt % group) * headDim;
                    if (d0 < headDim)
                    {
                        dk0 += dScores[j] * q[query + d0];
                        dv0 += probabilities[j] * dOutput[query + d0];
                    }
                    if (d1 < headDim)
                    {
                        dk1 += dScores[j] * q[query + d1];
                        dv1 += probabilities[j] * dOutput[query + d1];
                    }
                }
            }
            if (d0 < headDim)
            {
                dKeys[key + d0] = dk0 * shape.Scale;
                dValues[key + d0] = dv0;
            }
            if (d1 < headDim)
            {
                dKeys[key + d1] = dk1 * shape.Scale;
                dValues[key + d1] = dv1;
            }
        }
    }

    /// <summary>P_t = exp(s_t − L) and dP_t = dO·v_t for key t (both 0 past the row's last key).</summary>
    private static (float Probability, float DProbability) Probability(ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values,
        ArrayView<float> dOutput, long query, int t, int end, int kvWidth, int kvOffset, float logSum, AttentionShape shape)
    {
        if (t >= end) return (0f, 0f);
        var key = (long)t * kvWidth + kvOffset;
        return (XMath.Exp(Dot(q, query, keys, key, shape.HeadDim) * shape.Scale - logSum), Dot(dOutput, query, values, key, shape.HeadDim));
    }

    /// <summary>
    /// q[query..] · keys[key..] over headDim, four independent chains. All threads of a group read the same query
    /// element at once, a broadcast the cache serves, so the query needs no staging in shared memory.
    /// </summary>
    internal static float Dot(ArrayView<float> q, long query, ArrayView<float> keys, long key, int headDim)
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
