using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Generation;

namespace Dromedary.Model.Llama;

/// <summary>
/// Forward steps over a paged KV cache: each step carries token rows of many sequences, row i at its own
/// position with its own block table, and stores their keys and values in the blocks those tables name. Log-probs
/// are computed afterwards only for the rows that need them, <see cref="HeadRows"/> at a time.
/// </summary>
public sealed class PagedForward : IDisposable, IKvAttention
{
    private readonly LlamaModel _model;
    private readonly IKernelSet _k;
    private readonly ChunkBuffers _chunk;
    private readonly Activation _headHidden, _headNormed, _logits;
    private readonly int[] _positions;
    private readonly int[] _tables;
    private int _rows;

    public PagedForward(LlamaModel model, EngineOptions options)
    {
        options.Validate();
        var config = model.Config;
        _model = model;
        _k = model.Kernels;
        Shape = CacheShape(config, options);
        HeadRows = options.HeadRows;
        _positions = new int[Shape.MaxRows];
        _tables = new int[Shape.MaxRows * Shape.TableWidth];
        Cache = _k.AllocatePagedKvCache(Shape);
        try
        {
            _chunk = new ChunkBuffers(_k, config, Shape.MaxRows);
            _headHidden = _k.AllocateActivation(HeadRows, config.HiddenSize);
            _headNormed = _k.AllocateActivation(HeadRows, config.HiddenSize);
            _logits = _k.AllocateActivation(HeadRows, config.VocabSize);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public static PagedKvShape CacheShape(LlamaConfig config, EngineOptions options) =>
        new(config.Layers, options.BlocksFor(config), options.BlockSize, config.KvHeads, config.HeadDim, options.TableWidth(config), options.StepTokens);

    /// <summary>The activation buffers an engine allocates besides its cache: the memory plan counts this list.</summary>
    public static IEnumerable<(string Name, int Rows, int Cols)> Buffers(LlamaConfig config, EngineOptions options) =>
    [
        .. ChunkBuffers.Sizes(config, options.StepTokens), ("head rows", options.HeadRows, config.HiddenSize),
        ("head normed", options.HeadRows, config.HiddenSize), ("logits", options.HeadRows, config.VocabSize),
    ];

    public PagedKvShape Shape { get; }
    public PagedKvCache Cache { get; }
    public int HeadRows { get; }

    /// <summary>
    /// Runs row i = token <paramref name="tokens"/>[i] at <paramref name="positions"/>[i] with block table
    /// <paramref name="tables"/>[i·TableWidth ..]; each row sees its own sequence's earlier positions and itself.
    /// </summary>
    public void Run(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> tables)
    {
        var rows = tokens.Length;
        if (rows > Shape.MaxRows) throw new ArgumentException($"{rows} rows exceed the step's {Shape.MaxRows}");
        positions[..rows].CopyTo(_positions);
        tables[..(rows * Shape.TableWidth)].CopyTo(_tables);
        new PagedRows(_positions, _tables).Validate(Cache, rows);
        _rows = rows;
        if (rows > 0) _chunk.Run(_model, tokens, _positions.AsSpan(0, rows), this);
    }

    /// <summary>Log-softmax rows [rows.Length, vocab] after the last <see cref="Run"/>'s rows <paramref name="rows"/> (at most <see cref="HeadRows"/>).</summary>
    public void LogProbs(ReadOnlySpan<int> rows, Span<float> destination)
    {
        if (rows.Length > HeadRows) throw new ArgumentException($"{rows.Length} rows exceed the head's {HeadRows}");
        for (var i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)_rows) throw new ArgumentOutOfRangeException(nameof(rows), rows[i], $"the last step had {_rows} rows");
            _k.CopyRows(_chunk.Hidden, rows[i], _headHidden, i, 1);
        }
        if (rows.Length > 0) ChunkBuffers.Head(_model, _headHidden, _headNormed, _logits, rows.Length, destination);
    }

    void IKvAttention.StoreAndAttend(int layer, ChunkBuffers buffers, int rows)
    {
        var batch = new PagedRows(_positions, _tables);
        _k.StorePagedKv(Cache, layer, buffers.Key, buffers.Value, rows, batch);
        _k.PagedAttention(buffers.Query, Cache, layer, rows, _model.Config.Heads, batch, buffers.Attention);
    }

    public void Dispose()
    {
        Cache.Dispose();
        _chunk?.Dispose();
        _headHidden?.Dispose();
        _headNormed?.Dispose();
        _logits?.Dispose();
    }
}
