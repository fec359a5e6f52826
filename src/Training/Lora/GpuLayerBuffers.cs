using Dromedary.Model.Config;
using ILGPU;

namespace Dromedary.Training.Lora;

/// <summary>
/// <see cref="LayerBuffers"/> in device memory: one layer's activations and their gradients for up to maxTokens
/// tokens, shared by all layers (each layer is recomputed from its saved input just before its backward).
/// </summary>
internal sealed class GpuLayerBuffers(GpuTrainingOps memory, LlamaConfig config, int maxTokens)
{
    public ArrayView<float> AttentionInput { get; } = memory.Floats("attention input", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> Query { get; } = memory.Floats("query", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> Key { get; } = memory.Floats("key", (long)maxTokens * config.KvDim);
    public ArrayView<float> Value { get; } = memory.Floats("value", (long)maxTokens * config.KvDim);
    public ArrayView<float> Attention { get; } = memory.Floats("attention", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> Projection { get; } = memory.Floats("projection", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> Residual { get; } = memory.Floats("residual", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> MlpInput { get; } = memory.Floats("mlp input", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> Gate { get; } = memory.Floats("gate", (long)maxTokens * config.IntermediateSize);
    public ArrayView<float> Up { get; } = memory.Floats("up", (long)maxTokens * config.IntermediateSize);
    public ArrayView<float> Product { get; } = memory.Floats("product", (long)maxTokens * config.IntermediateSize);

    public ArrayView<float> ProductGradient { get; } = memory.Floats("product gradient", (long)maxTokens * config.IntermediateSize);
    public ArrayView<float> GateGradient { get; } = memory.Floats("gate gradient", (long)maxTokens * config.IntermediateSize);
    public ArrayView<float> UpGradient { get; } = memory.Floats("up gradient", (long)maxTokens * config.IntermediateSize);
    public ArrayView<float> NormInputGradient { get; } = memory.Floats("norm input gradient", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> NormOutputGradient { get; } = memory.Floats("norm output gradient", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> AttentionGradient { get; } = memory.Floats("attention gradient", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> QueryGradient { get; } = memory.Floats("query gradient", (long)maxTokens * config.HiddenSize);
    public ArrayView<float> KeyGradient { get; } = memory.Floats("key gradient", (long)maxTokens * config.KvDim);
    public ArrayView<float> ValueGradient { get; } = memory.Floats("value gradient", (long)maxTokens * config.KvDim);
}
