namespace Dromedary.Kernels;

/// <summary>
/// The model's whole vocabulary of operations, implemented once per kind of device (the CPU SIMD set, the ILGPU
/// set, tuned variants). The forward pass is written against this interface only; each set owns the memory of
/// the handles it returns, so the same model code drives host memory or device memory.
/// Activations are row-major [rows, cols] matrices; a call works on the first <c>rows</c> rows.
/// </summary>
public interface IKernelSet : IDisposable
{
    /// <summary>The registry name (<c>--kernels NAME</c>).</summary>
    string Name { get; }

    /// <summary>One line on what runs: instruction sets, threads, device.</summary>
    string Description { get; }

    /// <summary>Bytes a linear weight [rows, cols] takes in this set (groupSize 0: fp32; else int8 with that group).</summary>
    long LinearBytes(int rows, int cols, int groupSize);

    /// <summary>Bytes an activation [rows, cols] takes in this set.</summary>
    long ActivationBytes(int rows, int cols);

    /// <summary>Bytes a KV cache takes in this set.</summary>
    long KvCacheBytes(int layers, int capacity, int kvHeads, int headDim);

    /// <summary>Bytes an embedding table takes in this set.</summary>
    long EmbeddingBytes(int rows, int cols, ScalarType type);

    /// <summary>Bytes a vector weight (a norm) takes in this set.</summary>
    long VectorBytes(int length);

    /// <summary>Bytes a rotary table takes in this set. These sizes are what a memory plan adds up.</summary>
    long RopeBytes(int headDim, int maxPositions);

    /// <summary>Bytes of memory this set can hold in all: the device's, or for the CPU set the machine's available memory.</summary>
    long MemoryCapacity { get; }

    /// <summary>
    /// Called once, before a model is loaded, with a memory plan's total: a set with a device arena takes that
    /// memory in one piece here (and refuses a plan larger than the device); the CPU set allocates as it goes.
    /// </summary>
    void ReserveMemory(long bytes);

    Activation AllocateActivation(int rows, int cols);

    void Upload(ReadOnlySpan<float> source, Activation destination);

    void Download(Activation source, int rows, Span<float> destination);

    /// <summary>Copies a linear layer's weights into this set's own layout (fp32, or int8 with scales).</summary>
    LinearWeight CreateLinear(in LinearSource source);

    VectorWeight CreateVector(ReadOnlySpan<float> values);

    /// <summary>An embedding table [rows, cols] kept in its stored type (F32, F16 or BF16).</summary>
    EmbeddingTable CreateEmbedding(ReadOnlySpan<byte> data, ScalarType type, int rows, int cols);

    RopeTable CreateRope(int headDim, double theta, int maxPositions);

    KvCache AllocateKvCache(int layers, int capacity, int kvHeads, int headDim);

    /// <summary>Copies <paramref name="rows"/> rows of source, from sourceRow, into destination from destinationRow.</summary>
    void CopyRows(Activation source, int sourceRow, Activation destination, int destinationRow, int rows);

    /// <summary>output[i] = table[tokenIds[i]] as fp32.</summary>
    void Embedding(EmbeddingTable table, ReadOnlySpan<int> tokenIds, Activation output);

    /// <summary>output = input / sqrt(mean(input²) + eps) * weight, per row.</summary>
    void RmsNorm(Activation input, VectorWeight weight, float eps, int rows, Activation output);

    /// <summary>output[rows, weight.Rows] = input[rows, weight.Cols] · weightᵀ.</summary>
    void Linear(Activation input, LinearWeight weight, int rows, Activation output);

    /// <summary>Rotates each head of each row in place (Hugging Face rotate-half layout) at the row's position.</summary>
    void Rope(Activation x, int rows, int heads, RopeTable table, ReadOnlySpan<int> positions);

    /// <summary>Writes rows of keys and values into the cache at positions start .. start + rows - 1.</summary>
    void StoreKv(KvCache cache, int layer, Activation keys, Activation values, int rows, int startPosition);

    /// <summary>
    /// Causal grouped-query attention: query row i sits at position startPosition + i and attends to cache
    /// positions 0 .. startPosition + i. Query head h reads kv head h / (heads / kvHeads).
    /// </summary>
    void Attention(Activation queries, KvCache cache, int layer, int rows, int startPosition, int heads, Activation output);

    /// <summary>output = silu(gate) * up.</summary>
    void SwiGlu(Activation gate, Activation up, int rows, Activation output);

    /// <summary>residual += delta (the residual stream).</summary>
    void Add(Activation residual, Activation delta, int rows);

    /// <summary>Replaces each row of logits by its log-softmax.</summary>
    void LogSoftmax(Activation logits, int rows);
}

/// <summary>A [rows, cols] activation matrix in a kernel set's memory.</summary>
public abstract class Activation(int rows, int cols) : IDisposable
{
    public int Rows { get; } = rows;
    public int Cols { get; } = cols;

    public abstract void Dispose();
}

/// <summary>A linear layer's weight [rows = out features, cols = in features] in a kernel set's layout.</summary>
public abstract class LinearWeight(int rows, int cols) : IDisposable
{
    public int Rows { get; } = rows;
    public int Cols { get; } = cols;

    /// <summary>Bytes this weight occupies in its set's memory.</summary>
    public abstract long Bytes { get; }

    public abstract void Dispose();
}

public abstract class VectorWeight(int length) : IDisposable
{
    public int Length { get; } = length;

    public abstract void Dispose();
}

public abstract class EmbeddingTable(int rows, int cols) : IDisposable
{
    public int Rows { get; } = rows;
    public int Cols { get; } = cols;

    public abstract void Dispose();
}

public abstract class RopeTable(int headDim, int maxPositions) : IDisposable
{
    public int HeadDim { get; } = headDim;
    public int MaxPositions { get; } = maxPositions;

    public abstract void Dispose();
}

public abstract class KvCache(int layers, int capacity, int kvHeads, int headDim) : IDisposable
{
    public int Layers { get; } = layers;
    public int Capacity { get; } = capacity;
    public int KvHeads { get; } = kvHeads;
    public int HeadDim { get; } = headDim;

    public abstract void Dispose();
}

/// <summary>
/// A linear weight as it arrives from a checkpoint, [rows, cols] row-major: either fp32 values, or int8 values
/// with fp32 scales per row and group (<see cref="GroupSize"/> input columns share one scale; equal to cols when
/// there is one scale per row).
/// </summary>
public readonly ref struct LinearSource
{
    private LinearSource(int rows, int cols, ReadOnlySpan<float> values, ReadOnlySpan<sbyte> quantized,
        ReadOnlySpan<float> scales, int groupSize)
    {
        Rows = rows;
        Cols = cols;
        Values = values;
        Quantized = quantized;
        Scales = scales;
        GroupSize = groupSize;
    }

    public int Rows { get; }
    public int Cols { get; }
    public ReadOnlySpan<float> Values { get; }
    public ReadOnlySpan<sbyte> Quantized { get; }
    public ReadOnlySpan<float> Scales { get; }
    public int GroupSize { get; }
    public bool IsQuantized => GroupSize > 0;

    public static LinearSource Fp32(ReadOnlySpan<float> values, int rows, int cols)
    {
        if (values.Length != (long)rows * cols) throw new ArgumentException($"expected {rows}×{cols} values, got {values.Length}");
        return new LinearSource(rows, cols, values, default, default, 0);
    }

    public static LinearSource Int8(ReadOnlySpan<sbyte> quantized, ReadOnlySpan<float> scales, int rows, int cols, int groupSize)
    {
        if (groupSize <= 0 || groupSize > cols) throw new ArgumentException($"group size {groupSize} must be in 1..{cols}");
        var groups = (cols + groupSize - 1) / groupSize;
        if (quantized.Length != (long)rows * cols) throw new ArgumentException($"expected {rows}×{cols} int8 values, got {quantized.Length}");
        if (scales.Length != (long)rows * groups) throw new ArgumentException($"expected {rows}×{groups} scales, got {scales.Length}");
        return new LinearSource(rows, cols, default, quantized, scales, groupSize);
    }
}
