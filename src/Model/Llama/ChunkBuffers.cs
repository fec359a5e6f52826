using Dromedary.Kernels;
using Dromedary.Model.Config;

namespace Dromedary.Model.Llama;

/// <summary>Where a forward pass keeps and reads its keys and values: a session's own cache, or a paged cache.</summary>
internal interface IKvAttention
{
    /// <summary>Stores the rows' keys and values of <paramref name="layer"/>, then writes their attention output.</summary>
    void StoreAndAttend(int layer, ChunkBuffers buffers, int rows);
}

/// <summary>
/// The activations of the transformer blocks for a chunk of up to <see cref="Rows"/> token rows, and the blocks
/// themselves: the one layer loop that sessions and the batched engine share, differing only in their caches.
/// </summary>
internal sealed class ChunkBuffers : IDisposable
{
    private readonly IKernelSet _k;

    public ChunkBuffers(IKernelSet kernels, LlamaConfig config, int rows)
    {
        _k = kernels;
        Rows = rows;
        var made = Sizes(config, rows).Select(b => kernels.AllocateActivation(b.Rows, b.Cols)).ToArray();
        (Hidden, Normed, Query, Key, Value) = (made[0], made[1], made[2], made[3], made[4]);
        (Attention, Projection, Gate, Up) = (made[5], made[6], made[7], made[8]);
    }

    /// <summary>The buffers' sizes, in the constructor's order: memory plans count this list.</summary>
    public static IEnumerable<(string Name, int Rows, int Cols)> Sizes(LlamaConfig config, int rows)
    {
        int d = config.HiddenSize, f = config.IntermediateSize;
        return
        [
            ("hidden", rows, d), ("normed", rows, d), ("query", rows, d), ("key", rows, config.KvDim),
            ("value", rows, config.KvDim), ("attention", rows, d), ("projection", rows, d), ("gate", rows, f), ("up", rows, f),
        ];
    }

    public int Rows { get; }
    public Activation Hidden { get; }
    public Activation Normed { get; }
    public Activation Query { get; }
    public Activation Key { get; }
    public Activation Value { get; }
    public Activation Attention { get; }
    public Activation Projection { get; }
    public Activation Gate { get; }
    public Activation Up { get; }

    /// <summary>Embeds <paramref name="tokens"/> (row i at positions[i]) and runs every block; the result is in <see cref="Hidden"/>.</summary>
    public void Run(LlamaModel model, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, IKvAttention cache)
    {
        var config = model.Config;
        var n = tokens.Length;
        var eps = (float)config.RmsNormEps;
        _k.Embedding(model.Embedding, tokens, Hidden);
        for (var l = 0; l < model.Layers.Length; l++)
        {
            var layer = model.Layers[l];
            _k.RmsNorm(Hidden, layer.AttentionNorm, eps, n, Normed);
            _k.Linear(Normed, layer.Query, n, Query);
            _k.Linear(Normed, layer.Key, n, Key);
            _k.Linear(Normed, layer.Value, n, Value);
            _k.Rope(Query, n, config.Heads, model.Rope, positions);
            _k.Rope(Key, n, config.KvHeads, model.Rope, positions);
            cache.StoreAndAttend(l, this, n);
            _k.Linear(Attention, layer.Output, n, Projection);
            _k.Add(Hidden, Projection, n);

            _k.RmsNorm(Hidden, layer.MlpNorm, eps, n, Normed);
            _k.Linear(Normed, layer.Gate, n, Gate);
            _k.Linear(Normed, layer.Up, n, Up);
            _k.SwiGlu(Gate, Up, n, Gate);
            _k.Linear(Gate, layer.Down, n, Projection);
            _k.Add(Hidden, Projection, n);
        }
    }

    /// <summary>log-softmax(head(norm(rows))) of the first <paramref name="rows"/> rows of <paramref name="hidden"/>, downloaded.</summary>
    public static void Head(LlamaModel model, Activation hidden, Activation normed, Activation logits, int rows, Span<float> destination)
    {
        var k = model.Kernels;
        k.RmsNorm(hidden, model.FinalNorm, (float)model.Config.RmsNormEps, rows, normed);
        k.Linear(normed, model.Head, rows, logits);
        k.LogSoftmax(logits, rows);
        k.Download(logits, rows, destination);
    }

    public void Dispose()
    {
        foreach (var buffer in new[] { Hidden, Normed, Query, Key, Value, Attention, Projection, Gate, Up }) buffer.Dispose();
    }
}
