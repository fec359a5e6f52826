using ILGPU;

namespace Dromedary.Training.Lora;

/// <summary>
/// <see cref="LayerBuffers"/> in device memory: one layer's activations and their gradients for a whole block,
/// shared by all layers (each layer is recomputed from its saved input just before its backward).
/// </summary>
/// <param name="b">The engine's views by their names in <see cref="TrainingBuffers"/>.</param>
internal sealed class GpuLayerBuffers(IReadOnlyDictionary<string, ArrayView<float>> b)
{
    public ArrayView<float> AttentionInput { get; } = b["attention input"];
    public ArrayView<float> Query { get; } = b["query"];
    public ArrayView<float> Key { get; } = b["key"];
    public ArrayView<float> Value { get; } = b["value"];
    public ArrayView<float> Attention { get; } = b["attention"];
    public ArrayView<float> Projection { get; } = b["projection"];
    public ArrayView<float> Residual { get; } = b["residual"];
    public ArrayView<float> MlpInput { get; } = b["mlp input"];
    public ArrayView<float> Gate { get; } = b["gate"];
    public ArrayView<float> Up { get; } = b["up"];
    public ArrayView<float> Product { get; } = b["product"];

    public ArrayView<float> ProductGradient { get; } = b["product gradient"];
    public ArrayView<float> GateGradient { get; } = b["gate gradient"];
    public ArrayView<float> UpGradient { get; } = b["up gradient"];
    public ArrayView<float> NormInputGradient { get; } = b["norm input gradient"];
    public ArrayView<float> NormOutputGradient { get; } = b["norm output gradient"];
    public ArrayView<float> AttentionGradient { get; } = b["attention gradient"];
    public ArrayView<float> QueryGradient { get; } = b["query gradient"];
    public ArrayView<float> KeyGradient { get; } = b["key gradient"];
    public ArrayView<float> ValueGradient { get; } = b["value gradient"];
}
