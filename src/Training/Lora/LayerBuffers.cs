using Dromedary.Model.Config;

namespace Dromedary.Training.Lora;

/// <summary>
/// One layer's activations and their gradients, [tokens, width], shared by all layers: a layer's forward is
/// recomputed from its saved input just before its backward, so only one layer's worth is ever live. The shapes are
/// <see cref="TrainingBuffers"/>' layer part, the list the training memory plan sums.
/// </summary>
internal sealed class LayerBuffers
{
    /// <param name="b">Buffers by their names in <see cref="TrainingBuffers"/>; more may be there.</param>
    public LayerBuffers(IReadOnlyDictionary<string, float[]> b)
    {
        (AttentionInput, Query, Key, Value, Attention, Projection) = (b["attention input"], b["query"], b["key"], b["value"], b["attention"], b["projection"]);
        (Residual, MlpInput, Gate, Up, Product) = (b["residual"], b["mlp input"], b["gate"], b["up"], b["product"]);
        (ProductGradient, GateGradient, UpGradient) = (b["product gradient"], b["gate gradient"], b["up gradient"]);
        (NormInputGradient, NormOutputGradient, AttentionGradient) = (b["norm input gradient"], b["norm output gradient"], b["attention gradient"]);
        (QueryGradient, KeyGradient, ValueGradient) = (b["query gradient"], b["key gradient"], b["value gradient"]);
    }

    /// <summary>A layer's buffers on their own, for up to <paramref name="maxTokens"/> tokens.</summary>
    public static LayerBuffers Create(LlamaConfig config, int maxTokens) =>
        new(TrainingBuffers.LayerShapes(config, maxTokens).ToDictionary(s => s.Name, s => new float[(long)s.Rows * s.Cols]));

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
}
