using Dromedary.Model.Config;

namespace Dromedary.Training.Lora;

/// <summary>
/// One layer's activations and their gradients, [tokens, width] for up to <c>maxTokens</c> tokens, shared by all
/// layers: a layer's forward is recomputed from its saved input just before its backward, so only one layer's
/// worth is ever live.
/// </summary>
internal sealed class LayerBuffers(LlamaConfig config, int maxTokens)
{
    // Forward: the attention-normed input, rotated queries and keys, values, attention output, a projection's
    // output, the residual after attention, its MLP-normed copy, gate, up and their SwiGLU product.
    public float[] AttentionInput { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] Query { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] Key { get; } = Rows(maxTokens, config.KvDim);
    public float[] Value { get; } = Rows(maxTokens, config.KvDim);
    public float[] Attention { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] Projection { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] Residual { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] MlpInput { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] Gate { get; } = Rows(maxTokens, config.IntermediateSize);
    public float[] Up { get; } = Rows(maxTokens, config.IntermediateSize);
    public float[] Product { get; } = Rows(maxTokens, config.IntermediateSize);

    // Backward: the gradients of those activations; NormInput holds a normed input's gradient, NormOutput the
    // gradient an RMSNorm passes back to the residual stream.
    public float[] ProductGradient { get; } = Rows(maxTokens, config.IntermediateSize);
    public float[] GateGradient { get; } = Rows(maxTokens, config.IntermediateSize);
    public float[] UpGradient { get; } = Rows(maxTokens, config.IntermediateSize);
    public float[] NormInputGradient { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] NormOutputGradient { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] AttentionGradient { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] QueryGradient { get; } = Rows(maxTokens, config.HiddenSize);
    public float[] KeyGradient { get; } = Rows(maxTokens, config.KvDim);
    public float[] ValueGradient { get; } = Rows(maxTokens, config.KvDim);

    private static float[] Rows(int tokens, int width) => new float[(long)tokens * width];
}
