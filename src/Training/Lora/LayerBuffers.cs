using Dromedary.Model.Config;

namespace Dromedary.Training.Lora;

/// <summary>
/// One layer's activations and their gradients, [tokens, width] for up to <c>maxTokens</c> tokens, shared by all
/// layers: a layer's forward is recomputed from its saved input just before its backward, so only one layer's
/// worth is ever live. <see cref="Shapes"/> is the one list both this class and the training memory plan use.
/// </summary>
internal sealed class LayerBuffers
{
    private readonly Dictionary<string, float[]> _all;

    public LayerBuffers(LlamaConfig config, int maxTokens)
    {
        var b = _all = Shapes(config, maxTokens).ToDictionary(s => s.Name, s => new float[(long)s.Rows * s.Cols]);
        (AttentionInput, Query, Key, Value, Attention, Projection) = (b["attention input"], b["query"], b["key"], b["value"], b["attention"], b["projection"]);
        (Residual, MlpInput, Gate, Up, Product) = (b["residual"], b["mlp input"], b["gate"], b["up"], b["product"]);
        (ProductGradient, GateGradient, UpGradient) = (b["product gradient"], b["gate gradient"], b["up gradient"]);
        (NormInputGradient, NormOutputGradient, AttentionGradient) = (b["norm input gradient"], b["norm output gradient"], b["attention gradient"]);
        (QueryGradient, KeyGradient, ValueGradient) = (b["query gradient"], b["key gradient"], b["value gradient"]);
    }

    /// <summary>
    /// Forward: the attention-normed input, rotated queries and keys, values, attention output, a projection's
    /// output, the residual after attention, its MLP-normed copy, gate, up and their SwiGLU product. Backward: the
    /// gradients of those activations; the norm input gradient is a normed input's gradient, the norm output
    /// gradient the one an RMSNorm passes back to the residual stream.
    /// </summary>
    public static IEnumerable<(string Name, int Rows, int Cols)> Shapes(LlamaConfig config, int maxTokens)
    {
        int n = maxTokens, d = config.HiddenSize, kv = config.KvDim, f = config.IntermediateSize;
        return
        [
            ("attention input", n, d), ("query", n, d), ("key", n, kv), ("value", n, kv), ("attention", n, d),
            ("projection", n, d), ("residual", n, d), ("mlp input", n, d), ("gate", n, f), ("up", n, f), ("product", n, f),
            ("product gradient", n, f), ("gate gradient", n, f), ("up gradient", n, f), ("norm input gradient", n, d),
            ("norm output gradient", n, d), ("attention gradient", n, d), ("query gradient", n, d), ("key gradient", n, kv),
            ("value gradient", n, kv),
        ];
    }

    public float[] AttentionInput { get; }
    public float[] Query { get; }
    public float[] Key { get; }
    public float[] Value { get; }
    public float[] Attention { get; }
    public float[] Projection { get; }
    public float[] Residual { get; }
    public float[] MlpInput { get; }
    public float[] Gate { get; }
    public float[] Up { get; }
    public float[] Product { get; }
    public float[] ProductGradient { get; }
    public float[] GateGradient { get; }
    public float[] UpGradient { get; }
    public float[] NormInputGradient { get; }
    public float[] NormOutputGradient { get; }
    public float[] AttentionGradient { get; }
    public float[] QueryGradient { get; }
    public float[] KeyGradient { get; }
    public float[] ValueGradient { get; }

    /// <summary>Bytes of every buffer here, as allocated.</summary>
    public long Bytes => _all.Values.Sum(b => (long)b.Length * sizeof(float));
}
