namespace Dromedary.Model.Llama;

/// <summary>Hugging Face LLaMA tensor names.</summary>
public static class TensorNames
{
    public const string Embedding = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string Head = "lm_head.weight";

    /// <summary>The projections of one layer, in the order a layer uses them.</summary>
    public static readonly string[] LayerLinears =
    [
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
    ];

    public static string Layer(int layer, string part) => $"model.layers.{layer}.{part}";

    public static string LayerWeight(int layer, string part) => $"model.layers.{layer}.{part}.weight";

    /// <summary>True for the weights that are matrix multiplications (quantized to int8); norms and the embedding are not.</summary>
    public static bool IsLinear(string tensorName) =>
        tensorName == Head
        || (tensorName.StartsWith("model.layers.", StringComparison.Ordinal)
            && LayerLinears.Any(part => tensorName.EndsWith($".{part}.weight", StringComparison.Ordinal)));
}
