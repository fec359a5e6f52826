using Dromedary.Kernels;
using Dromedary.Model.Lora;

namespace Dromedary.Model.Llama;

/// <summary>One transformer block's weights in a kernel set.</summary>
internal sealed record LayerWeights(
    VectorWeight AttentionNorm,
    LinearWeight Query,
    LinearWeight Key,
    LinearWeight Value,
    LinearWeight Output,
    VectorWeight MlpNorm,
    LinearWeight Gate,
    LinearWeight Up,
    LinearWeight Down) : IDisposable
{
    public long LinearBytes => new[] { Query, Key, Value, Output, Gate, Up, Down }.Sum(w => w.Bytes);

    /// <summary>The weight of the projection a LoRA target adapts.</summary>
    public LinearWeight Projection(LoraTarget target) => target switch
    {
        LoraTarget.Query => Query,
        LoraTarget.Key => Key,
        LoraTarget.Value => Value,
        LoraTarget.Output => Output,
        LoraTarget.Gate => Gate,
        LoraTarget.Up => Up,
        LoraTarget.Down => Down,
        _ => throw new ArgumentOutOfRangeException(nameof(target)),
    };

    public void Dispose()
    {
        AttentionNorm.Dispose();
        Query.Dispose();
        Key.Dispose();
        Value.Dispose();
        Output.Dispose();
        MlpNorm.Dispose();
        Gate.Dispose();
        Up.Dispose();
        Down.Dispose();
    }
}
