namespace Dromedary.Model.Config;

/// <summary>The published LLaMA shapes, so plans can be made without the weights at hand.</summary>
public static class ModelPresets
{
    private static LlamaConfig Llama(int dim, int ffn, int heads, int kvHeads, int layers, int context, double eps) => new()
    {
        HiddenSize = dim, IntermediateSize = ffn, Heads = heads, KvHeads = kvHeads, Layers = layers, VocabSize = 32000,
        MaxPositions = context, RmsNormEps = eps, TorchDtype = "float16",
    };

    public static readonly IReadOnlyDictionary<string, LlamaConfig> All = new Dictionary<string, LlamaConfig>
    {
        ["llama-7b"] = Llama(4096, 11008, 32, 32, 32, 2048, 1e-6),
        ["llama-13b"] = Llama(5120, 13824, 40, 40, 40, 2048, 1e-6),
        ["llama-30b"] = Llama(6656, 17920, 52, 52, 60, 2048, 1e-6),
        ["llama-65b"] = Llama(8192, 22016, 64, 64, 80, 2048, 1e-5),
        ["llama-2-7b"] = Llama(4096, 11008, 32, 32, 32, 4096, 1e-5),
        ["llama-2-13b"] = Llama(5120, 13824, 40, 40, 40, 4096, 1e-5),
        ["llama-2-70b"] = Llama(8192, 28672, 64, 8, 80, 4096, 1e-5),
    };

    /// <summary>A preset by name, or the config.json of a model folder.</summary>
    public static LlamaConfig Resolve(string modelOrPreset) =>
        All.TryGetValue(modelOrPreset.ToLowerInvariant(), out var preset) ? preset : LlamaConfig.Load(modelOrPreset);
}
