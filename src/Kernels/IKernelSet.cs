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
    /// Bytes the set took for itself when it was made, before any plan (a GPU set's attention and gradient-norm
    /// partials and index buffers); the plans count them as a line, so a plan's total is all the set holds. 0 for
    /// the CPU set.
    /// </summary>
    long OwnBytes { get; }

    /// <summary>
    /// Bytes of the activation scratch the int8 matmul takes from the set's planned memory for calls within
    /// <paramref name="bounds"/>; 0 where it takes none there (the CPU set's scratch is per-thread host memory).
    /// </summary>
    long Int8ScratchBytes(Int8MatMulBounds bounds);

    /// <summary>
    /// Called once, before a model is loaded, with a memory plan's total and, for int8 weights, the bounds its
    /// int8 scratch line was sized for: a set with a device arena takes that total, less the <see cref="OwnBytes"/>
    /// it holds already, in one piece here (and refuses a plan larger than the device) and carves the scratch from
    /// it; the CPU set allocates as it goes.
    /// </summary>
    void ReserveMemory(long bytes, Int8MatMulBounds? int8);

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

    /// <summary>Bytes a paged KV cache of <paramref name="shape"/> takes in this set (with its block-table staging).</summary>
    long PagedKvCacheBytes(in PagedKvShape shape);

    PagedKvCache AllocatePagedKvCache(in PagedKvShape shape);

    /// <summary>Writes row i's key and value into the slot of position <c>batch.Positions[i]</c> in row i's block table.</summary>
    void StorePagedKv(PagedKvCache cache, int layer, Activation keys, Activation values, int rows, in PagedRows batch);

    /// <summary>
    /// Causal grouped-query attention over a paged cache: query row i, at position <c>batch.Positions[i]</c>,
    /// attends to positions 0 .. Positions[i] of its own sequence, whose blocks its block table lists. Rows of
    /// different sequences mix freely in one call.
    /// </summary>
    void PagedAttention(Activation queries, PagedKvCache cache, int layer, int rows, int heads, in PagedRows batch, Activation output);

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
/// A paged KV cache's sizes: per layer, <see cref="Blocks"/> blocks of <see cref="BlockSize"/> positions of
/// kvHeads × headDim keys and values. A sequence's positions live in the blocks its block table names, in order;
/// <see cref="TableWidth"/> bounds a table's length and <see cref="MaxRows"/> the rows of one call.
/// </summary>
public readonly record struct PagedKvShape(int Layers, int Blocks, int BlockSize, int KvHeads, int HeadDim, int TableWidth, int MaxRows)
{
    /// <summary>Position slots in the whole cache.</summary>
    public long Slots => (long)Blocks * BlockSize;

    /// <summary>Floats of keys (or of values) per layer.</summary>
    public long LayerLength => Slots * KvHeads * HeadDim;

    public void Validate()
    {
        if (Layers < 1 || Blocks < 1 || KvHeads < 1 || HeadDim < 1 || TableWidth < 1 || MaxRows < 1)
            throw new ArgumentException($"paged KV cache sizes must be positive: {this}");
        if (BlockSize < 1 || (BlockSize & (BlockSize - 1)) != 0)
            throw new ArgumentException($"the block size must be a power of two, not {BlockSize}");
    }
}

/// <summary>
/// The rows of a paged call: row i sits at <see cref="Positions"/>[i] of a sequence whose block table is
/// <see cref="BlockTables"/>[i·width .. (i+1)·width) (width = the cache's TableWidth; entries past the sequence's
/// last block are ignored). Rows of one sequence repeat its table.
/// </summary>
public readonly ref struct PagedRows(ReadOnlySpan<int> positions, ReadOnlySpan<int> blockTables)
{
    public ReadOnlySpan<int> Positions { get; } = positions;
    public ReadOnlySpan<int> BlockTables { get; } = blockTables;

    /// <summary>Checks that <paramref name="rows"/> rows have positions and tables that stay inside the cache.</summary>
    public void Validate(PagedKvCache cache, int rows)
    {
        var shape = cache.Shape;
        if (rows > shape.MaxRows) throw new ArgumentException($"{rows} rows exceed the cache's {shape.MaxRows} rows per call");
        if (Positions.Length < rows || BlockTables.Length < (long)rows * shape.TableWidth)
            throw new ArgumentException($"{rows} rows need {rows} positions and {rows}×{shape.TableWidth} table entries");
        for (var i = 0; i < rows; i++)
        {
            var position = Positions[i];
            var last = position / shape.BlockSize;
            if (position < 0 || last >= shape.TableWidth)
                throw new ArgumentOutOfRangeException(nameof(Positions), position, $"row {i}'s position is outside its table of {shape.TableWidth} blocks");
            for (var b = 0; b <= last; b++)
                if ((uint)BlockTables[i * shape.TableWidth + b] >= (uint)shape.Blocks)
                    throw new ArgumentOutOfRangeException(nameof(BlockTables), $"row {i}'s block {b} is not a block of the cache's {shape.Blocks}");
        }
    }
}

/// <summary>A paged KV cache in a kernel set's memory (see <see cref="PagedKvShape"/>).</summary>
public abstract class PagedKvCache(PagedKvShape shape) : IDisposable
{
    public PagedKvShape Shape { get; } = shape;

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
