using System.Numerics;
using System.Numerics.Tensors;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// Causal grouped-query attention over a key/value cache. Work is split into units of one kv head × a block of
/// query rows (all the query heads that share the kv head), run in parallel. Every query vector is computed by
/// one thread with one fixed sequence of operations, so results do not depend on the thread count or on how rows
/// were grouped, and a decode step gives exactly the row a full prefill would. Not reentrant: one Forward or
/// Backward at a time per instance.
/// </summary>
public sealed unsafe class CpuAttention
{
    /// <summary>Rows per unit: small enough to balance threads, large enough to amortise a unit's overhead.</summary>
    private const int RowBlock = 16;

    /// <summary>Numbers each call, across instances, so a thread's packed keys are never reused from another.</summary>
    private static long s_calls;

    [ThreadStatic] private static Scratch? t_scratch;

    private readonly WorkerPool _pool;
    private readonly Action<int, int> _body;
    private readonly Action<int, int> _backwardBody;

    // The call in progress: spans cannot live in fields, so Forward pins them and parks their pointers here.
    private float* _q;
    private float* _keys;
    private float* _values;
    private float* _output;
    private float* _dOutput;
    private float* _dQ;
    private float* _dKeys;
    private float* _dValues;
    private int _rows;
    private int _startPosition;
    private int _heads;
    private int _group;
    private int _headDim;
    private int _kvWidth;
    private int _capacity;
    private int _blocks;
    private long _call;

    public CpuAttention(WorkerPool pool)
    {
        _pool = pool;
        _body = RunUnits;
        _backwardBody = RunBackwardUnits;
    }

    /// <param name="q">[rows, heads·headDim]; row i sits at position startPosition + i.</param>
    /// <param name="keyCache">
    /// [capacity, kvHeads·headDim], positions 0 .. startPosition + rows − 1 filled. Pass the whole cache, not the
    /// filled part: scratch is sized to its capacity once instead of growing with every decode step.
    /// </param>
    /// <param name="output">[rows, heads·headDim]; may be the same span as <paramref name="q"/>.</param>
    public void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> keyCache, ReadOnlySpan<float> valueCache, int rows,
        int startPosition, int heads, int kvHeads, int headDim, Span<float> output)
    {
        CheckShapes(q.Length, keyCache.Length, valueCache.Length, rows, startPosition, heads, kvHeads, headDim);
        var kvWidth = kvHeads * headDim;
        if (output.Length < (long)rows * heads * headDim) throw new ArgumentException($"output must hold {rows}×{heads * headDim} values");
        fixed (float* pq = q, pk = keyCache, pv = valueCache, po = output)
        {
            _q = pq;
            _keys = pk;
            _values = pv;
            _output = po;
            (_rows, _startPosition, _heads, _group, _headDim, _kvWidth) = (rows, startPosition, heads, heads / kvHeads, headDim, kvWidth);
            _capacity = keyCache.Length / kvWidth;
            _blocks = (rows + RowBlock - 1) / RowBlock;
            _call = Interlocked.Increment(ref s_calls);
            try
            {
                _pool.For(kvHeads * _blocks, 1, _body);
            }
            finally
            {
                _q = _keys = _values = _output = null;
            }
        }
    }

    /// <summary>
    /// The gradients through <see cref="Forward"/> for the same arguments. The probabilities are recomputed from q
    /// and the keys rather than stored; with dP_t = dO·v_t and D = Σ P_t·dP_t (= dO·output, but recomputing it costs
    /// one dot product of the context's length, so the output need not be kept), dS_t = P_t·(dP_t − D), and
    /// dQ = scale·Σ dS_t·k_t, dK_t += scale·dS_t·q, dV_t += P_t·dO. One unit per kv head: it owns that head's
    /// columns of dKey and dValue, summed over its query heads in thread-local rows, so nothing races.
    /// </summary>
    /// <param name="dOutput">[rows, heads·headDim], the gradient of Forward's output.</param>
    /// <param name="dQ">[rows, heads·headDim]; may be the same span as <paramref name="q"/>.</param>
    /// <param name="dKey">
    /// [startPosition + rows (or more), kvHeads·headDim]: positions 0 .. startPosition + rows − 1 are overwritten with
    /// the gradient of the cached keys there; the rest is left alone. Likewise <paramref name="dValue"/>.
    /// </param>
    public void Backward(ReadOnlySpan<float> q, ReadOnlySpan<float> keyCache, ReadOnlySpan<float> valueCache, int rows,
        int startPosition, int heads, int kvHeads, int headDim, ReadOnlySpan<float> dOutput, Span<float> dQ, Span<float> dKey,
        Span<float> dValue)
    {
        CheckShapes(q.Length, keyCache.Length, valueCache.Length, rows, startPosition, heads, kvHeads, headDim);
        var width = heads * headDim;
        var kvWidth = kvHeads * headDim;
        if (dOutput.Length < (long)rows * width || dQ.Length < (long)rows * width)
            throw new ArgumentException($"dOutput and dQ must hold {rows}×{width} values");
        var context = startPosition + rows;
        if (dKey.Length < (long)context * kvWidth || dValue.Length < (long)context * kvWidth)
            throw new ArgumentException($"dKey and dValue must hold {context} positions of {kvWidth} values");
        if (rows == 0) return;
        fixed (float* pq = q, pk = keyCache, pv = valueCache, pdo = dOutput, pdq = dQ, pdk = dKey, pdv = dValue)
        {
            _q = pq;
            _keys = pk;
            _values = pv;
            _dOutput = pdo;
            _dQ = pdq;
            _dKeys = pdk;
            _dValues = pdv;
            (_rows, _startPosition, _heads, _group, _headDim, _kvWidth) = (rows, startPosition, heads, heads / kvHeads, headDim, kvWidth);
            _call = Interlocked.Increment(ref s_calls);
            try
            {
                _pool.For(kvHeads, 1, _backwardBody);
            }
            finally
            {
                _q = _keys = _values = _dOutput = _dQ = _dKeys = _dValues = null;
            }
        }
    }

    private static void CheckShapes(int q, int keyCache, int valueCache, int rows, int startPosition, int heads, int kvHeads, int headDim)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(startPosition);
        ArgumentOutOfRangeException.ThrowIfLessThan(kvHeads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        if (heads < kvHeads || heads % kvHeads != 0) throw new ArgumentException($"{heads} query heads do not split evenly over {kvHeads} kv heads");
        if (q < (long)rows * heads * headDim) throw new ArgumentException($"q must hold {rows}×{heads * headDim} values");
        var kvWidth = kvHeads * headDim;
        var filled = (long)(startPosition + rows) * kvWidth;
        if (keyCache < filled || valueCache < filled)
            throw new ArgumentException($"the caches must hold {startPosition + rows} positions of {kvWidth} values");
    }

    private void RunUnits(int start, int end)
    {
        var scratch = t_scratch ??= new Scratch();
        for (var unit = start; unit < end; unit++)
        {
            // kv-head-major, so neighbouring units share cached keys and values; within a head the last blocks,
            // with the longest contexts, go first, leaving the light units to balance the tail of the loop.
            Unit(unit / _blocks, _blocks - 1 - unit % _blocks, scratch);
        }
    }

    private void Unit(int kvHead, int block, Scratch scratch)
    {
        var firstRow = block * RowBlock;
        var endRow = Math.Min(_rows, firstRow + RowBlock);
        var context = _startPosition + endRow;
        var keys = _keys + kvHead * _headDim;
        var values = _values + kvHead * _headDim;
        var stride = _kvWidth;
        // In the cache a head's rows lie a whole kv width apart, strides that fold onto a few cache sets and evict
        // each other. When several queries sweep them, copy them out contiguous; a thread's next unit is usually
        // the same head at a shorter context, so it packs nothing new.
        var pack = (endRow - firstRow) * _group > 1;
        if (pack) scratch.Pack(_call, kvHead, keys, values, stride, _headDim, context, _capacity);
        fixed (float* scores = scratch.Scores(_capacity), packedKeys = scratch.Keys, packedValues = scratch.Values)
        {
            if (pack)
            {
                keys = packedKeys;
                values = packedValues;
                stride = _headDim;
            }
            for (var row = firstRow; row < endRow; row++)
            {
                for (var head = kvHead * _group; head < (kvHead + 1) * _group; head++)
                    Query(row, head, keys, values, stride, scores);
            }
        }
    }

    private void RunBackwardUnits(int start, int end)
    {
        var scratch = t_scratch ??= new Scratch();
        for (var kvHead = start; kvHead < end; kvHead++) BackwardUnit(kvHead, scratch);
    }

    private void BackwardUnit(int kvHead, Scratch scratch)
    {
        var context = _startPosition + _rows;
        scratch.Pack(_call, kvHead, _keys + kvHead * _headDim, _values + kvHead * _headDim, _kvWidth, _headDim, context, context);
        scratch.ClearGradients(context * _headDim);
        var scale = (float)(1 / Math.Sqrt(_headDim));
        fixed (float* probabilities = scratch.Scores(context), dScores = scratch.DScores, keys = scratch.Keys, values = scratch.Values,
            dKeys = scratch.DKeys, dValues = scratch.DValues)
        {
            for (var row = 0; row < _rows; row++)
            {
                for (var head = kvHead * _group; head < (kvHead + 1) * _group; head++)
                    QueryBackward(row, head, keys, values, scale, probabilities, dScores, dKeys, dValues);
            }
            for (var t = 0; t < context; t++)
            {
                var target = (long)t * _kvWidth + kvHead * _headDim;
                new ReadOnlySpan<float>(dKeys + t * _headDim, _headDim).CopyTo(new Span<float>(_dKeys + target, _headDim));
                new ReadOnlySpan<float>(dValues + t * _headDim, _headDim).CopyTo(new Span<float>(_dValues + target, _headDim));
            }
        }
    }

    /// <summary>
    /// The gradients of one query vector (row, head), keys and values packed [context, headDim]. dQ is written last,
    /// after q's one use, so it may overwrite q.
    /// </summary>
    private void QueryBackward(int row, int head, float* keys, float* values, float scale, float* probabilities, float* dScores,
        float* dKeys, float* dValues)
    {
        var offset = (long)row * _heads * _headDim + head * _headDim;
        var context = _startPosition + row + 1;
        Scores(_q + offset, keys, _headDim, _headDim, context, scale, probabilities);
        var p = new Span<float>(probabilities, context);
        TensorPrimitives.Subtract(p, TensorPrimitives.Max(p), p);
        TensorPrimitives.Exp(p, p);
        TensorPrimitives.Multiply(p, 1f / TensorPrimitives.Sum<float>(p), p);
        Scores(_dOutput + offset, values, _headDim, _headDim, context, 1f, dScores);
        var dS = new Span<float>(dScores, context);
        var d = TensorPrimitives.Dot<float>(p, dS);
        AddOuter(dValues, _headDim, probabilities, context, 1f, _dOutput + offset);
        TensorPrimitives.Subtract(dS, d, dS);
        TensorPrimitives.Multiply(dS, p, dS);
        AddOuter(dKeys, _headDim, dScores, context, scale, _q + offset);
        WeightedSum(keys, _headDim, _headDim, dScores, context, scale, _dQ + offset);
    }

    /// <summary>rows[t] += scale · weights[t] · vector for t &lt; context; rows are contiguous [context, headDim].</summary>
    private static void AddOuter(float* rows, int headDim, float* weights, int context, float scale, float* vector)
    {
        for (var t = 0; t < context; t++, rows += headDim)
        {
            var w = scale * weights[t];
            var i = 0;
            for (; i <= headDim - Vector<float>.Count; i += Vector<float>.Count)
                Vector.Store(Vector.MultiplyAddEstimate(Vector.Load(vector + i), new Vector<float>(w), Vector.Load(rows + i)), rows + i);
            for (; i < headDim; i++) rows[i] += w * vector[i];
        }
    }

    /// <summary>Attention of one query vector (row, head) over positions 0 .. startPosition + row.</summary>
    private void Query(int row, int head, float* keys, float* values, int stride, float* scores)
    {
        var offset = (long)row * _heads * _headDim + head * _headDim;
        var context = _startPosition + row + 1;
        Scores(_q + offset, keys, stride, _headDim, context, (float)(1 / Math.Sqrt(_headDim)), scores);
        var weights = new Span<float>(scores, context);
        TensorPrimitives.Subtract(weights, TensorPrimitives.Max(weights), weights);
        TensorPrimitives.Exp(weights, weights);
        var sum = TensorPrimitives.Sum<float>(weights);
        WeightedSum(values, stride, _headDim, scores, context, 1f / sum, _output + offset);
    }

    /// <summary>
    /// scores[t] = scale · (query · key t). Four keys share each load of the query; a lone key runs the same
    /// per-lane sequence, so a score never depends on which block its key fell in.
    /// </summary>
    internal static void Scores(float* query, float* keys, int stride, int headDim, int context, float scale, float* scores)
    {
        var t = 0;
        for (; t <= context - 4; t += 4)
        {
            var k0 = keys + (long)t * stride;
            var k1 = k0 + stride;
            var k2 = k1 + stride;
            var k3 = k2 + stride;
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            var i = 0;
            for (; i <= headDim - Vector<float>.Count; i += Vector<float>.Count)
            {
                var q = Vector.Load(query + i);
                a0 = Vector.MultiplyAddEstimate(q, Vector.Load(k0 + i), a0);
                a1 = Vector.MultiplyAddEstimate(q, Vector.Load(k1 + i), a1);
                a2 = Vector.MultiplyAddEstimate(q, Vector.Load(k2 + i), a2);
                a3 = Vector.MultiplyAddEstimate(q, Vector.Load(k3 + i), a3);
            }
            float s0 = Vector.Sum(a0), s1 = Vector.Sum(a1), s2 = Vector.Sum(a2), s3 = Vector.Sum(a3);
            for (; i < headDim; i++)
            {
                s0 += query[i] * k0[i];
                s1 += query[i] * k1[i];
                s2 += query[i] * k2[i];
                s3 += query[i] * k3[i];
            }
            scores[t] = s0 * scale;
            scores[t + 1] = s1 * scale;
            scores[t + 2] = s2 * scale;
            scores[t + 3] = s3 * scale;
        }
        for (; t < context; t++)
        {
            var k = keys + (long)t * stride;
            Vector<float> a = default;
            var i = 0;
            for (; i <= headDim - Vector<float>.Count; i += Vector<float>.Count)
                a = Vector.MultiplyAddEstimate(Vector.Load(query + i), Vector.Load(k + i), a);
            var s = Vector.Sum(a);
            for (; i < headDim; i++) s += query[i] * k[i];
            scores[t] = s * scale;
        }
    }

    /// <summary>output = scale · Σ weights[t] · value t.</summary>
    private static void WeightedSum(float* values, int stride, int headDim, float* weights, int context, float scale, float* output)
    {
        var result = new Span<float>(output, headDim);
        result.Clear();
        AccumulateWeighted(values, stride, headDim, weights, context, output);
        TensorPrimitives.Multiply(result, scale, result);
    }

    /// <summary>
    /// output += Σ weights[t] · value t, t in order. Each slice of four vectors of the output stays in registers
    /// for the whole sweep over positions, so the values are read once per slice and the output written once.
    /// A sweep split into consecutive calls (the blocks of a paged cache) gives the bits of one call.
    /// </summary>
    internal static void AccumulateWeighted(float* values, int stride, int headDim, float* weights, int context, float* output)
    {
        var width = Vector<float>.Count;
        var i = 0;
        for (; i <= headDim - 4 * width; i += 4 * width)
        {
            Vector<float> a0 = Vector.Load(output + i), a1 = Vector.Load(output + i + width);
            Vector<float> a2 = Vector.Load(output + i + 2 * width), a3 = Vector.Load(output + i + 3 * width);
            var v = values + i;
            for (var t = 0; t < context; t++, v += stride)
            {
                var w = new Vector<float>(weights[t]);
                a0 = Vector.MultiplyAddEstimate(Vector.Load(v), w, a0);
                a1 = Vector.MultiplyAddEstimate(Vector.Load(v + width), w, a1);
                a2 = Vector.MultiplyAddEstimate(Vector.Load(v + 2 * width), w, a2);
                a3 = Vector.MultiplyAddEstimate(Vector.Load(v + 3 * width), w, a3);
            }
            Vector.Store(a0, output + i);
            Vector.Store(a1, output + i + width);
            Vector.Store(a2, output + i + 2 * width);
            Vector.Store(a3, output + i + 3 * width);
        }
        for (; i <= headDim - width; i += width)
        {
            var a = Vector.Load(output + i);
            var v = values + i;
            for (var t = 0; t < context; t++, v += stride)
                a = Vector.MultiplyAddEstimate(Vector.Load(v), new Vector<float>(weights[t]), a);
            Vector.Store(a, output + i);
        }
        for (; i < headDim; i++)
        {
            var a = output[i];
            var v = values + i;
            for (var t = 0; t < context; t++, v += stride) a += *v * weights[t];
            output[i] = a;
        }
    }

    /// <summary>
    /// A thread's buffers, sized to the largest cache capacity seen (which bounds every context), so that decode's
    /// context growing by one never reallocates. Backward also keeps the score gradients and one kv head's key and
    /// value gradients here.
    /// </summary>
    private sealed class Scratch
    {
        private float[] _scores = [];
        private long _packedCall;
        private int _packedHead;
        private int _packedLength;

        public float[] Keys { get; private set; } = [];
        public float[] Values { get; private set; } = [];
        public float[] DScores { get; private set; } = [];
        public float[] DKeys { get; private set; } = [];
        public float[] DValues { get; private set; } = [];

        public float[] Scores(int capacity)
        {
            if (_scores.Length < capacity)
            {
                _scores = new float[capacity];
                DScores = new float[capacity];
            }
            return _scores;
        }

        /// <summary>Makes <see cref="DKeys"/> and <see cref="DValues"/> hold at least <paramref name="length"/> zeros.</summary>
        public void ClearGradients(int length)
        {
            if (DKeys.Length < length)
            {
                DKeys = new float[length];
                DValues = new float[length];
                return;
            }
            Array.Clear(DKeys, 0, length);
            Array.Clear(DValues, 0, length);
        }

        /// <summary>Makes <see cref="Keys"/> and <see cref="Values"/> hold positions 0 .. context − 1 of one kv head.</summary>
        public void Pack(long call, int kvHead, float* keys, float* values, int stride, int headDim, int context, int capacity)
        {
            if (call != _packedCall || kvHead != _packedHead) _packedLength = 0;
            if (context <= _packedLength) return;
            if (Keys.Length < capacity * headDim)
            {
                Keys = new float[capacity * headDim];
                Values = new float[Keys.Length];
                _packedLength = 0;
            }
            for (var t = _packedLength; t < context; t++)
            {
                new ReadOnlySpan<float>(keys + (long)t * stride, headDim).CopyTo(Keys.AsSpan(t * headDim, headDim));
                new ReadOnlySpan<float>(values + (long)t * stride, headDim).CopyTo(Values.AsSpan(t * headDim, headDim));
            }
            (_packedCall, _packedHead, _packedLength) = (call, kvHead, context);
        }
    }
}
