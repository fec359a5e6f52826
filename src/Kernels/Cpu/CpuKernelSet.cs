using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// The CPU kernel set: SIMD kernels run over a fixed pool of worker threads. It is the fast path on machines
/// without a GPU and the numerical reference the GPU sets are checked against.
/// </summary>
public sealed partial class CpuKernelSet : IKernelSet
{
    private readonly WorkerPool _pool;
    private readonly Int8MatMul _int8;
    private readonly Fp32MatMul _fp32;
    private readonly CpuAttention _attention;

    public CpuKernelSet(string name, int threads, Int8Kernel int8Kernel)
    {
        Name = name;
        _pool = new WorkerPool(threads);
        _int8 = new Int8MatMul(_pool, int8Kernel);
        _fp32 = new Fp32MatMul(_pool);
        _attention = new CpuAttention(_pool);
        var simd = Vector512.IsHardwareAccelerated ? "AVX-512" : Avx2.IsSupported ? "AVX2" : "portable SIMD";
        Description = $"CPU, {threads} thread{(threads == 1 ? "" : "s")}, fp32 {simd}, int8 {int8Kernel}";
    }

    public string Name { get; }
    public string Description { get; }

    // The set's threads and attention kernel, for the CPU training pass: it runs the same kernels on its own
    // buffers, one call at a time, as a session does.
    internal WorkerPool Pool => _pool;
    internal CpuAttention CpuAttention => _attention;

    public long LinearBytes(int rows, int cols, int groupSize) =>
        groupSize == 0 ? Fp32Weight.BytesFor(rows, cols) : Int8Weight.BytesFor(rows, cols, groupSize);

    public long ActivationBytes(int rows, int cols) => (long)rows * cols * sizeof(float);

    public long KvCacheBytes(int layers, int capacity, int kvHeads, int headDim) =>
        2L * layers * capacity * kvHeads * headDim * sizeof(float);

    public long EmbeddingBytes(int rows, int cols, ScalarType type) => (long)rows * cols * type.SizeOf();

    public long VectorBytes(int length) => (long)length * sizeof(float);

    public long RopeBytes(int headDim, int maxPositions) => (long)maxPositions * headDim * sizeof(float);

    /// <summary>Host memory is allocated buffer by buffer; nothing to reserve up front.</summary>
    public long MemoryCapacity => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    public void ReserveMemory(long bytes, Int8MatMulBounds? int8) { }

    public long OwnBytes => 0;

    /// <summary>The int8 matmul quantizes into per-thread host scratch (<see cref="ScratchBuffer"/>), outside any plan.</summary>
    public long Int8ScratchBytes(Int8MatMulBounds bounds) => 0;

    /// <summary>Bytes of every handle this set has created, for checking memory plans against reality.</summary>
    public long AllocatedBytes { get; private set; }

    private T Count<T>(T handle, long bytes)
    {
        AllocatedBytes += bytes;
        return handle;
    }

    public Activation AllocateActivation(int rows, int cols) => Count(new CpuActivation(rows, cols), ActivationBytes(rows, cols));

    public void Upload(ReadOnlySpan<float> source, Activation destination) => source.CopyTo(Cpu(destination).Buffer.Span);

    public void Download(Activation source, int rows, Span<float> destination) =>
        Cpu(source).RowsSpan(rows).CopyTo(destination);

    public LinearWeight CreateLinear(in LinearSource source)
    {
        LinearWeight weight = source.IsQuantized ? Int8Weight.Create(source) : Fp32Weight.Create(source);
        return Count(weight, weight.Bytes);
    }

    public VectorWeight CreateVector(ReadOnlySpan<float> values) => Count(new CpuVector(values), VectorBytes(values.Length));

    public EmbeddingTable CreateEmbedding(ReadOnlySpan<byte> data, ScalarType type, int rows, int cols) =>
        Count(new CpuEmbeddingTable(data, type, rows, cols), EmbeddingBytes(rows, cols, type));

    public RopeTable CreateRope(int headDim, double theta, int maxPositions) =>
        Count(new CpuRopeTable(headDim, theta, maxPositions), RopeBytes(headDim, maxPositions));

    public KvCache AllocateKvCache(int layers, int capacity, int kvHeads, int headDim) =>
        Count(new CpuKvCache(layers, capacity, kvHeads, headDim), KvCacheBytes(layers, capacity, kvHeads, headDim));

    public void CopyRows(Activation source, int sourceRow, Activation destination, int destinationRow, int rows)
    {
        var cols = source.Cols;
        if (destination.Cols != cols) throw new ArgumentException($"row widths differ: {cols} and {destination.Cols}");
        Cpu(source).Buffer.Slice((long)sourceRow * cols, rows * cols)
            .CopyTo(Cpu(destination).Buffer.Slice((long)destinationRow * cols, rows * cols));
    }

    public void Embedding(EmbeddingTable table, ReadOnlySpan<int> tokenIds, Activation output)
    {
        var t = (CpuEmbeddingTable)table;
        CpuEmbedding.Forward(t.Buffer.Span, t.Type, t.Cols, tokenIds, Cpu(output).RowsSpan(tokenIds.Length));
    }

    public void RmsNorm(Activation input, VectorWeight weight, float eps, int rows, Activation output) =>
        CpuRmsNorm.Forward(Cpu(input).RowsSpan(rows), ((CpuVector)weight).Buffer.Span, eps, rows, Cpu(output).RowsSpan(rows));

    public void Linear(Activation input, LinearWeight weight, int rows, Activation output) =>
        Linear(Cpu(input).RowsSpan(rows), rows, weight, Cpu(output).RowsSpan(rows));

    /// <summary>y[rows, weight.Rows] = x · Wᵀ on host spans (the training pass's buffers).</summary>
    internal void Linear(ReadOnlySpan<float> x, int rows, LinearWeight weight, Span<float> y)
    {
        if (weight is Int8Weight int8) _int8.Forward(x, rows, int8, y);
        else _fp32.Forward(x, rows, (Fp32Weight)weight, y);
    }

    /// <summary>dX[rows, weight.Cols] = dY · W: the input gradient through a frozen weight.</summary>
    internal void LinearBackwardInput(ReadOnlySpan<float> dY, int rows, LinearWeight weight, Span<float> dX)
    {
        if (weight is Int8Weight int8) _int8.BackwardInput(dY, rows, int8, dX);
        else _fp32.BackwardInput(dY, rows, (Fp32Weight)weight, dX);
    }

    public void Rope(Activation x, int rows, int heads, RopeTable table, ReadOnlySpan<int> positions)
    {
        var t = (CpuRopeTable)table;
        CpuRope.Apply(Cpu(x).RowsSpan(rows), rows, heads, t.HeadDim, positions, t);
    }

    public void StoreKv(KvCache cache, int layer, Activation keys, Activation values, int rows, int startPosition)
    {
        var c = (CpuKvCache)cache;
        if (startPosition + rows > c.Capacity)
            throw new ArgumentOutOfRangeException(nameof(rows), $"positions up to {startPosition + rows} exceed the cache of {c.Capacity}");
        var width = c.RowWidth;
        Cpu(keys).RowsSpan(rows).CopyTo(c.Keys[layer].Slice((long)startPosition * width, rows * width));
        Cpu(values).RowsSpan(rows).CopyTo(c.Values[layer].Slice((long)startPosition * width, rows * width));
    }

    public void Attention(Activation queries, KvCache cache, int layer, int rows, int startPosition, int heads, Activation output)
    {
        // The whole cache goes in, not only its filled part: the kernel sizes its scratch by the span's length.
        var c = (CpuKvCache)cache;
        _attention.Forward(Cpu(queries).RowsSpan(rows), c.Keys[layer].Span, c.Values[layer].Span,
            rows, startPosition, heads, c.KvHeads, c.HeadDim, Cpu(output).RowsSpan(rows));
    }

    public void SwiGlu(Activation gate, Activation up, int rows, Activation output) =>
        CpuSwiGlu.Forward(Cpu(gate).RowsSpan(rows), Cpu(up).RowsSpan(rows), Cpu(output).RowsSpan(rows));

    public void Add(Activation residual, Activation delta, int rows) =>
        CpuResidual.Add(Cpu(residual).RowsSpan(rows), Cpu(delta).RowsSpan(rows));

    public void LogSoftmax(Activation logits, int rows) =>
        CpuLogSoftmax.Forward(Cpu(logits).RowsSpan(rows), rows, logits.Cols);

    private static CpuActivation Cpu(Activation activation) => (CpuActivation)activation;

    public void Dispose()
    {
        _int8.Dispose();
        _fp32.Dispose();
        _pool.Dispose();
    }
}
