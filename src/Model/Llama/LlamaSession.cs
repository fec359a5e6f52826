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
public sealed class LlamaSession : IDisposable
{
    private readonly LlamaModel _model;
    private readonly IKernelSet _k;
    private readonly KvCache _cache;
    private readonly Activation _hidden, _normed, _query, _key, _value, _attention, _projection, _gate, _up, _lastRow, _logits;
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
        var buffers = Buffers(config, MaxChunk).ToDictionary(b => b.Name, b => _k.AllocateActivation(b.Rows, b.Cols));
        (_hidden, _normed, _query, _key, _value) = (buffers["hidden"], buffers["normed"], buffers["query"], buffers["key"], buffers["value"]);
        (_attention, _projection, _gate, _up) = (buffers["attention"], buffers["projection"], buffers["gate"], buffers["up"]);
        (_lastRow, _logits) = (buffers["last row"], buffers["logits"]);
        _positions = new int[MaxChunk];
    }

    /// <summary>The activation buffers a session allocates: the memory plan counts the same list.</summary>
    public static IEnumerable<(string Name, int Rows, int Cols)> Buffers(Config.LlamaConfig config, int chunk)
    {
        int d = config.HiddenSize, f = config.IntermediateSize;
        return
        [
            ("hidden", chunk, d), ("normed", chunk, d), ("query", chunk, d), ("key", chunk, config.KvDim),
            ("value", chunk, config.KvDim), ("attention", chunk, d), ("projection", chunk, d), ("gate", chunk, f),
            ("up", chunk, f), ("last row", 1, d), ("logits", chunk, config.VocabSize),
        ];
    }

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
                Head(_hidden, n, logProbs.Slice(start * vocab, n * vocab));
            }
            else if (rows == LogitsRows.Last && start + n == tokens.Length)
            {
                _k.CopyRows(_hidden, n - 1, _lastRow, 0, 1);
                Head(_lastRow, 1, logProbs[..vocab]);
            }
            Position += n;
        }
    }

    private void RunLayers(ReadOnlySpan<int> tokens)
    {
        var config = _model.Config;
        var n = tokens.Length;
        var eps = (float)config.RmsNormEps;
        for (var i = 0; i < n; i++) _positions[i] = Position + i;
        ReadOnlySpan<int> positions = _positions.AsSpan(0, n);

        _k.Embedding(_model.Embedding, tokens, _hidden);
        for (var l = 0; l < _model.Layers.Length; l++)
        {
            var layer = _model.Layers[l];
            _k.RmsNorm(_hidden, layer.AttentionNorm, eps, n, _normed);
            _k.Linear(_normed, layer.Query, n, _query);
            _k.Linear(_normed, layer.Key, n, _key);
            _k.Linear(_normed, layer.Value, n, _value);
            _k.Rope(_query, n, config.Heads, _model.Rope, positions);
            _k.Rope(_key, n, config.KvHeads, _model.Rope, positions);
            _k.StoreKv(_cache, l, _key, _value, n, Position);
            _k.Attention(_query, _cache, l, n, Position, config.Heads, _attention);
            _k.Linear(_attention, layer.Output, n, _projection);
            _k.Add(_hidden, _projection, n);

            _k.RmsNorm(_hidden, layer.MlpNorm, eps, n, _normed);
            _k.Linear(_normed, layer.Gate, n, _gate);
            _k.Linear(_normed, layer.Up, n, _up);
            _k.SwiGlu(_gate, _up, n, _gate);
            _k.Linear(_gate, layer.Down, n, _projection);
            _k.Add(_hidden, _projection, n);
        }
    }

    private void Head(Activation hidden, int n, Span<float> destination)
    {
        var normed = n == 1 && hidden == _lastRow ? _lastRow : _normed;
        _k.RmsNorm(hidden, _model.FinalNorm, (float)_model.Config.RmsNormEps, n, normed);
        _k.Linear(normed, _model.Head, n, _logits);
        _k.LogSoftmax(_logits, n);
        _k.Download(_logits, n, destination);
    }

    public void Dispose()
    {
        _cache.Dispose();
        foreach (var buffer in new[] { _hidden, _normed, _query, _key, _value, _attention, _projection, _gate, _up, _lastRow, _logits })
            buffer.Dispose();
    }
}
