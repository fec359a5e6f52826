using Dromedary.Kernels;

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
