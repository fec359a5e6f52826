using Dromedary.Kernels;

namespace Dromedary.Model.Llama;

/// <summary>Which rows of log-probabilities a forward call returns.</summary>
public enum LogitsRows
{
    /// <summary>None: only fill the KV cache.</summary>
    None,

    /// <summary>The log-softmax after the last token only ([vocab]).</summary>
    Last,

    /// <summary>The log-softmax after every token ([tokens, vocab]).</summary>
    All,
}

/// <summary>
/// One sequence being read or written by a model: its KV cache and the activation buffers of a forward pass,
/// allocated once here so that the per-token loop allocates nothing. Tokens are fed in chunks of at most
/// <c>maxChunk</c>; each call continues at <see cref="Position"/>.
/// </summary>
public sealed class LlamaSession : IDisposable, IKvAttention
{
    private readonly LlamaModel _model;
    private readonly IKernelSet _k;
    private readonly KvCache _cache;
    private readonly ChunkBuffers _chunk;
    private readonly Activation _lastRow, _logits;
    private readonly int[] _positions;

    /// <summary>Tokens per forward chunk unless a session asks otherwise; memory plans assume it.</summary>
    public const int DefaultChunk = 128;

    public LlamaSession(LlamaModel model, int capacity, int maxChunk = DefaultChunk)
    {
        var config = model.Config;
        if (capacity > config.MaxPositions)
            throw new DromedaryException($"a context of {capacity} tokens exceeds the model's max_position_embeddings {config.MaxPositions}.");
        _model = model;
        _k = model.Kernels;
        Capacity = capacity;
        MaxChunk = Math.Max(1, Math.Min(maxChunk, capacity));
        _cache = _k.AllocateKvCache(config.Layers, capacity, config.KvHeads, config.HeadDim);
        _chunk = new ChunkBuffers(_k, config, MaxChunk);
        _lastRow = _k.AllocateActivation(1, config.HiddenSize);
        _logits = _k.AllocateActivation(MaxChunk, config.VocabSize);
        _positions = new int[MaxChunk];
    }

    /// <summary>The activation buffers a session allocates: the memory plan counts the same list.</summary>
    public static IEnumerable<(string Name, int Rows, int Cols)> Buffers(Config.LlamaConfig config, int chunk) =>
        [.. ChunkBuffers.Sizes(config, chunk), ("last row", 1, config.HiddenSize), ("logits", chunk, config.VocabSize)];

    public int Capacity { get; }
    public int MaxChunk { get; }

    /// <summary>Tokens already in the KV cache.</summary>
    public int Position { get; private set; }

    public void Reset() => Position = 0;

    /// <summary>
    /// Runs <paramref name="tokens"/> at positions Position.. and appends them to the cache. With
    /// <see cref="LogitsRows.All"/>, <paramref name="logProbs"/> receives [tokens, vocab] log-softmax rows; with
    /// <see cref="LogitsRows.Last"/>, the row after the last token.
    /// </summary>
    public void Forward(ReadOnlySpan<int> tokens, LogitsRows rows, Span<float> logProbs)
    {
        var vocab = _model.Config.VocabSize;
        var needed = rows switch { LogitsRows.All => (long)tokens.Length * vocab, LogitsRows.Last => vocab, _ => 0 };
        if (logProbs.Length < needed) throw new ArgumentException($"log-prob buffer holds {logProbs.Length} values, {needed} needed", nameof(logProbs));
        if (Position + tokens.Length > Capacity)
            throw new DromedaryException($"{Position + tokens.Length} tokens do not fit this session's context of {Capacity}.");
        if (tokens.IsEmpty) return;

        for (var start = 0; start < tokens.Length; start += MaxChunk)
        {
            var chunk = tokens.Slice(start, Math.Min(MaxChunk, tokens.Length - start));
            RunLayers(chunk);
            var n = chunk.Length;
            if (rows == LogitsRows.All)
            {
                ChunkBuffers.Head(_model, _chunk.Hidden, _chunk.Normed, _logits, n, logProbs.Slice(start * vocab, n * vocab));
            }
            else if (rows == LogitsRows.Last && start + n == tokens.Length)
            {
                _k.CopyRows(_chunk.Hidden, n - 1, _lastRow, 0, 1);
                ChunkBuffers.Head(_model, _lastRow, _lastRow, _logits, 1, logProbs[..vocab]);
            }
            Position += n;
        }
    }

    private void RunLayers(ReadOnlySpan<int> tokens)
    {
        for (var i = 0; i < tokens.Length; i++) _positions[i] = Position + i;
        _chunk.Run(_model, tokens, _positions.AsSpan(0, tokens.Length), this);
    }

    void IKvAttention.StoreAndAttend(int layer, ChunkBuffers buffers, int rows)
    {
        _k.StoreKv(_cache, layer, buffers.Key, buffers.Value, rows, Position);
        _k.Attention(buffers.Query, _cache, layer, rows, Position, _model.Config.Heads, buffers.Attention);
    }

    public void Dispose()
    {
        _cache.Dispose();
        _chunk.Dispose();
        _lastRow.Dispose();
        _logits.Dispose();
    }
}
