using ILGPU;
using ILGPU.Runtime;
using Dromedary.Kernels.Cpu;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// The generic ILGPU kernel set: plain SIMT kernels (no tensor cores) that run on any CUDA GPU and, for
/// checking, on ILGPU's CPU accelerator. Activations are fp32 device memory carved from one
/// <see cref="DeviceArena"/>; every buffer is allocated in the Allocate/Create calls or when memory is reserved,
/// none in an op; the set's own (attention and gradient-norm partials, index buffers) come first, in a chunk taken
/// before any plan, and a reserved plan is one piece that what it counts is carved from. Kernels are
/// compiled once, when the set is made. Ops are queued on the accelerator's default stream and run in order;
/// <see cref="Download"/> waits for them. Not thread-safe: one op at a time.
/// Every kernel entry point is a <c>public static void …Kernel</c> method of this namespace (the PTX check
/// compiles all of them).
/// </summary>
public sealed partial class IlgpuKernelSet : IKernelSet
{
    /// <summary>Scratch for split decode attention: 4 MiB, enough for 8k-token contexts of 64 heads of 128.</summary>
    private const int AttentionPartials = 1 << 20;

    private readonly Accelerator _accelerator;
    private readonly DeviceArena _arena;
    private readonly DeviceBuffer<float> _partials;
    private readonly DeviceIndices _tokens;
    private readonly DeviceIndices _positions;
    private readonly GpuEmbedding _embedding;
    private readonly GpuRmsNorm _rmsNorm;
    private readonly GpuFp32MatMul _fp32;
    private readonly GpuInt8MatMul _int8;
    private readonly GpuRope _rope;
    private readonly GpuAttention _attention;
    private readonly GpuSwiGlu _swiGlu;
    private readonly GpuResidual _residual;
    private readonly GpuLogSoftmax _logSoftmax;
    private readonly GpuGradientNorm _gradientNorm;
    private HostStaging? _staging;

    /// <param name="runtime">owned by the set from now on, disposed with it (also when this constructor fails).</param>
    /// <param name="int8Variant">the int8 matmul: SIMT anywhere, or tensor-core mma.sync on CUDA sm_80 and newer.</param>
    public IlgpuKernelSet(string name, IlgpuRuntime runtime, GpuInt8Variant int8Variant = GpuInt8Variant.Simt)
    {
        Name = name;
        Runtime = runtime;
        _accelerator = runtime.Accelerator;
        Description = $"ILGPU kernels (int8 {int8Variant}) on {runtime.Description}";
        try
        {
            _arena = new DeviceArena(_accelerator);
            _partials = _arena.Allocate<float>(AttentionPartials);
            _tokens = new DeviceIndices(_arena);
            _positions = new DeviceIndices(_arena);
            _embedding = new GpuEmbedding(_accelerator);
            _rmsNorm = new GpuRmsNorm(_accelerator);
            _fp32 = new GpuFp32MatMul(_accelerator);
            _int8 = new GpuInt8MatMul(_accelerator, int8Variant);
            _rope = new GpuRope(_accelerator);
            _attention = new GpuAttention(_accelerator, _partials.View);
            _swiGlu = new GpuSwiGlu(_accelerator);
            _residual = new GpuResidual(_accelerator);
            _logSoftmax = new GpuLogSoftmax(_accelerator);
            _gradientNorm = new GpuGradientNorm(_accelerator, _arena);
            OwnBytes = _arena.ReservedBytes;
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    public string Name { get; }
    public string Description { get; }

    /// <summary>The context and accelerator the set runs on.</summary>
    public IlgpuRuntime Runtime { get; }

    /// <summary>The device memory this set carves its buffers from.</summary>
    public DeviceArena Arena => _arena;

    // The set's compiled ops, for the training engine, which runs them on its own device buffers.
    internal GpuEmbedding EmbeddingOp => _embedding;
    internal GpuRmsNorm RmsNormOp => _rmsNorm;
    internal GpuRope RopeOp => _rope;

    /// <summary>Its backward keeps (log-sum-exp, D) per (row, head) in the split-decode partials: up to 512k pairs.</summary>
    internal GpuAttention AttentionOp => _attention;

    internal GpuSwiGlu SwiGluOp => _swiGlu;
    internal GpuResidual ResidualOp => _residual;
    internal GpuFp32MatMul Fp32Op => _fp32;

    /// <summary>
    /// Its partials (one float per resident group) are the set's own, like the attention partials: taken with the
    /// set, before any plan, so everything a training plan counts lands in the planned piece.
    /// </summary>
    internal GpuGradientNorm GradientNormOp => _gradientNorm;

    /// <summary>Its activation scratch is sized when memory is reserved; the training engine checks it holds a block.</summary>
    internal GpuInt8MatMul Int8Op => _int8;

    public Activation AllocateActivation(int rows, int cols)
    {
        var buffer = _arena.Allocate<float>((long)rows * cols);
        buffer.View.MemSetToZero();
        // Token ids and positions come one per row, so the index buffers grow with the tallest activation.
        _tokens.Reserve(rows);
        _positions.Reserve(rows);
        return new GpuActivation(rows, cols, buffer);
    }

    public void Upload(ReadOnlySpan<float> source, Activation destination)
    {
        var view = Gpu(destination).View;
        if (source.Length > view.Length) throw new ArgumentException($"{source.Length} values do not fit a {destination.Rows}×{destination.Cols} activation");
        view.SubView(0, source.Length).CopyFromCPU(source);
    }

    public void Download(Activation source, int rows, Span<float> destination)
    {
        var count = checked(rows * source.Cols);
        Gpu(source).RowsView(rows).CopyToCPU(destination[..count]);
    }

    public LinearWeight CreateLinear(in LinearSource source) =>
        source.IsQuantized ? GpuInt8Weight.Create(_arena, Staging, source) : GpuFp32Weight.Create(_arena, Staging, source);

    /// <summary>Pinned host memory for weight uploads, made on the first one.</summary>
    private HostStaging Staging => _staging ??= new HostStaging(_accelerator);

    public long LinearBytes(int rows, int cols, int groupSize) =>
        groupSize == 0 ? DeviceArena.RoundUp((long)rows * cols * sizeof(float)) : GpuInt8Weight.BytesFor(rows, cols, groupSize);

    public long EmbeddingBytes(int rows, int cols, ScalarType type) => DeviceArena.RoundUp((long)rows * cols * type.SizeOf());

    public long VectorBytes(int length) => DeviceArena.RoundUp((long)length * sizeof(float));

    public long RopeBytes(int headDim, int maxPositions) => 2 * DeviceArena.RoundUp((long)maxPositions * (headDim / 2) * sizeof(float));

    /// <summary>The CPU accelerator's memory is the host's.</summary>
    public long MemoryCapacity => _accelerator is ILGPU.Runtime.CPU.CPUAccelerator ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : _accelerator.MemorySize;

    /// <summary>The chunk the arena took in the constructor (the set's own buffers), counted by every plan.</summary>
    public long OwnBytes { get; }

    /// <summary>
    /// The device arena takes the plan's bytes, less the set's own that it holds already, in one piece; more than
    /// the GPU has is refused here. The int8 matmul's activation scratch is the first thing carved from it.
    /// </summary>
    public void ReserveMemory(long bytes, Int8MatMulBounds? int8)
    {
        var more = bytes - OwnBytes;
        var free = MemoryCapacity - _arena.ReservedBytes;
        if (more > free)
            throw new DromedaryException($"the plan needs {bytes >> 20} MiB of device memory but {Runtime.Description} has {(free + OwnBytes) >> 20} MiB left; " +
                                         "try int8 weights or a shorter context ('dromedary plan' shows the breakdown).");
        if (more <= 0) throw new ArgumentOutOfRangeException(nameof(bytes), $"a plan's total counts the set's own {OwnBytes} bytes; {bytes} is not more.");
        _arena.Reserve(more);
        if (int8 is { } bounds) _int8.Reserve(_arena, bounds);
    }

    public long Int8ScratchBytes(Int8MatMulBounds bounds) => GpuInt8MatMul.ScratchBytes(bounds);

    public long ActivationBytes(int rows, int cols) => DeviceArena.RoundUp((long)rows * cols * sizeof(float));

    public long KvCacheBytes(int layers, int capacity, int kvHeads, int headDim) =>
        2 * DeviceArena.RoundUp((long)layers * capacity * kvHeads * headDim * sizeof(float));

    public VectorWeight CreateVector(ReadOnlySpan<float> values)
    {
        var buffer = _arena.Allocate<float>(values.Length);
        Staging.Upload(values, buffer.View);
        return new GpuVector(buffer);
    }

    public EmbeddingTable CreateEmbedding(ReadOnlySpan<byte> data, ScalarType type, int rows, int cols)
    {
        if (type is not (ScalarType.F32 or ScalarType.F16 or ScalarType.BF16))
            throw new ArgumentException($"embedding tables are F32, F16 or BF16, not {type}", nameof(type));
        if (data.Length != (long)rows * cols * type.SizeOf())
            throw new ArgumentException($"embedding [{rows}, {cols}] of {type} needs {(long)rows * cols * type.SizeOf()} bytes, got {data.Length}");
        var table = new GpuEmbeddingTable(_arena.Allocate<byte>(data.Length), type, rows, cols);
        Staging.Upload(data, table.View);
        return table;
    }

    /// <summary>The CPU set's table, uploaded: both sets rotate by the very same cos and sin values.</summary>
    public RopeTable CreateRope(int headDim, double theta, int maxPositions)
    {
        using var host = new CpuRopeTable(headDim, theta, maxPositions);
        var half = headDim / 2;
        var cos = new float[(long)maxPositions * half];
        var sin = new float[cos.Length];
        for (var position = 0; position < maxPositions; position++)
        {
            host.Cos(position).CopyTo(cos.AsSpan(position * half, half));
            host.Sin(position).CopyTo(sin.AsSpan(position * half, half));
        }
        var cosBuffer = _arena.Allocate<float>(cos.Length);
        var sinBuffer = _arena.Allocate<float>(sin.Length);
        Staging.Upload<float>(cos, cosBuffer.View);
        Staging.Upload<float>(sin, sinBuffer.View);
        return new GpuRopeTable(cosBuffer, sinBuffer, headDim, maxPositions);
    }

    public KvCache AllocateKvCache(int layers, int capacity, int kvHeads, int headDim)
    {
        if (headDim > GpuAttention.MaxHeadDim) throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"the ilgpu set supports head dimensions up to {GpuAttention.MaxHeadDim}");
        var length = (long)layers * capacity * kvHeads * headDim;
        var keys = _arena.Allocate<float>(length);
        try
        {
            return new GpuKvCache(keys, _arena.Allocate<float>(length), layers, capacity, kvHeads, headDim);
        }
        catch
        {
            keys.Dispose();
            throw;
        }
    }

    public void CopyRows(Activation source, int sourceRow, Activation destination, int destinationRow, int rows)
    {
        var cols = source.Cols;
        if (destination.Cols != cols) throw new ArgumentException($"row widths differ: {cols} and {destination.Cols}");
        Gpu(source).RowsView(sourceRow, rows).CopyTo(Gpu(destination).RowsView(destinationRow, rows));
    }

    public void Embedding(EmbeddingTable table, ReadOnlySpan<int> tokenIds, Activation output)
    {
        var t = (GpuEmbeddingTable)table;
        if (output.Cols != t.Cols) throw new ArgumentException($"output rows of {output.Cols} do not match the table's {t.Cols}");
        var rows = Gpu(output).RowsView(tokenIds.Length);
        foreach (var id in tokenIds)
        {
            if ((uint)id >= (uint)t.Rows)
                throw new ArgumentOutOfRangeException(nameof(tokenIds), id, $"token id {id} is outside the vocabulary of {t.Rows} tokens");
        }
        if (tokenIds.IsEmpty) return;
        _embedding.Forward(t.View, t.Type, t.Cols, _tokens.Upload(tokenIds), rows);
    }

    public void RmsNorm(Activation input, VectorWeight weight, float eps, int rows, Activation output)
    {
        if (input.Cols != weight.Length || output.Cols != weight.Length)
            throw new ArgumentException($"rows of {input.Cols} and {output.Cols} do not match the weight's {weight.Length}");
        if (rows == 0) return;
        _rmsNorm.Forward(Gpu(input).RowsView(rows), ((GpuVector)weight).View, eps, rows, Gpu(output).RowsView(rows));
    }

    public void Linear(Activation input, LinearWeight weight, int rows, Activation output)
    {
        if (input.Cols != weight.Cols || output.Cols != weight.Rows)
            throw new ArgumentException($"[{rows}, {input.Cols}] · [{weight.Rows}, {weight.Cols}]ᵀ cannot fill rows of {output.Cols}");
        if (rows == 0) return;
        Linear(Gpu(input).RowsView(rows), rows, weight, Gpu(output).RowsView(rows));
    }

    /// <summary>y[rows, weight.Rows] = x · Wᵀ on device views (the training pass's buffers).</summary>
    internal void Linear(ArrayView<float> x, int rows, LinearWeight weight, ArrayView<float> y)
    {
        switch (weight)
        {
            case GpuFp32Weight fp32:
                _fp32.Forward(x, rows, fp32, y);
                break;
            case GpuInt8Weight int8:
                _int8.Forward(x, rows, int8, y);
                break;
            default:
                throw new ArgumentException($"{weight.GetType().Name} is not a weight of the ilgpu set", nameof(weight));
        }
    }

    /// <summary>dX[rows, weight.Cols] = dY · W: the input gradient through a frozen weight, on device views.</summary>
    internal void LinearBackwardInput(ArrayView<float> dY, int rows, LinearWeight weight, ArrayView<float> dX)
    {
        if (weight is GpuInt8Weight int8) _int8.BackwardInput(dY, rows, int8, dX);
        else _fp32.BackwardInput(dY, rows, (GpuFp32Weight)weight, dX);
    }

    public void Rope(Activation x, int rows, int heads, RopeTable table, ReadOnlySpan<int> positions)
    {
        var t = (GpuRopeTable)table;
        if (positions.Length < rows) throw new ArgumentException($"{positions.Length} positions for {rows} rows");
        if (x.Cols < heads * t.HeadDim) throw new ArgumentException($"rows of {x.Cols} hold fewer than {heads} heads of {t.HeadDim}");
        positions = positions[..rows];
        foreach (var position in positions)
        {
            if ((uint)position >= (uint)t.MaxPositions)
                throw new ArgumentOutOfRangeException(nameof(positions), position, $"position {position} is beyond the rope table's {t.MaxPositions} positions");
        }
        if (rows == 0) return;
        _rope.Apply(Gpu(x).RowsView(rows), _positions.Upload(positions), t.Cos, t.Sin, heads, t.HeadDim);
    }

    public void StoreKv(KvCache cache, int layer, Activation keys, Activation values, int rows, int startPosition)
    {
        var c = (GpuKvCache)cache;
        if (startPosition + rows > c.Capacity)
            throw new ArgumentOutOfRangeException(nameof(rows), $"positions up to {startPosition + rows} exceed the cache of {c.Capacity}");
        if (keys.Cols != c.RowWidth || values.Cols != c.RowWidth)
            throw new ArgumentException($"key and value rows of {keys.Cols} and {values.Cols} do not match the cache's {c.RowWidth}");
        var start = (long)startPosition * c.RowWidth;
        var count = (long)rows * c.RowWidth;
        Gpu(keys).RowsView(rows).CopyTo(c.Keys(layer).SubView(start, count));
        Gpu(values).RowsView(rows).CopyTo(c.Values(layer).SubView(start, count));
    }

    public void Attention(Activation queries, KvCache cache, int layer, int rows, int startPosition, int heads, Activation output)
    {
        var c = (GpuKvCache)cache;
        if (heads < c.KvHeads || heads % c.KvHeads != 0) throw new ArgumentException($"{heads} query heads do not split evenly over {c.KvHeads} kv heads");
        if (queries.Cols != heads * c.HeadDim || output.Cols != queries.Cols)
            throw new ArgumentException($"query and output rows of {queries.Cols} and {output.Cols} are not {heads} heads of {c.HeadDim}");
        if (startPosition < 0 || startPosition + rows > c.Capacity)
            throw new ArgumentOutOfRangeException(nameof(rows), $"positions up to {startPosition + rows} exceed the cache of {c.Capacity}");
        if (rows == 0) return;
        _attention.Forward(Gpu(queries).RowsView(rows), c.Keys(layer), c.Values(layer), rows, startPosition, heads, c.KvHeads, c.HeadDim,
            Gpu(output).RowsView(rows));
    }

    public void SwiGlu(Activation gate, Activation up, int rows, Activation output)
    {
        if (gate.Cols != up.Cols || gate.Cols != output.Cols)
            throw new ArgumentException($"gate ({gate.Cols}), up ({up.Cols}) and output ({output.Cols}) rows must have equal length");
        if (rows == 0) return;
        _swiGlu.Forward(Gpu(gate).RowsView(rows), Gpu(up).RowsView(rows), Gpu(output).RowsView(rows));
    }

    public void Add(Activation residual, Activation delta, int rows)
    {
        if (residual.Cols != delta.Cols) throw new ArgumentException($"residual rows have {residual.Cols} values, delta rows {delta.Cols}");
        if (rows == 0) return;
        _residual.Add(Gpu(residual).RowsView(rows), Gpu(delta).RowsView(rows));
    }

    public void LogSoftmax(Activation logits, int rows)
    {
        if (rows == 0) return;
        _logSoftmax.Forward(Gpu(logits).RowsView(rows), rows, logits.Cols);
    }

    private static GpuActivation Gpu(Activation activation) => (GpuActivation)activation;

    /// <summary>Frees the set's own buffers and the accelerator; the handles it made must be disposed first.</summary>
    public void Dispose()
    {
        _int8.Dispose();
        _gradientNorm.Dispose();
        _staging?.Dispose();
        _tokens.Dispose();
        _positions.Dispose();
        _partials.Dispose();
        _arena.Dispose();
        Runtime.Dispose();
    }
}
