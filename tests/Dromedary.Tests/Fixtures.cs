using System.Text.Json;

namespace Dromedary.Tests;

/// <summary>The committed tiny LLaMA (tests/fixtures/tiny-llama, made by make_tiny_llama.py) and its reference values.</summary>
public static class Fixtures
{
    public static string TinyLlamaRoot => Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-llama");

    /// <summary>A model folder: "f32", "f16", "bf16" or "sharded".</summary>
    public static string TinyLlama(string variant) => Path.Combine(TinyLlamaRoot, variant);

    /// <summary>The tiny model's config.json.</summary>
    public static Dromedary.Model.Config.LlamaConfig TinyModelConfig => Dromedary.Model.Config.LlamaConfig.Load(TinyLlama("f32"));

    public sealed record ReferenceCase(string Text, int[] Tokens, double[] Logprobs, double[]? LastLogprobs);

    private static readonly Lazy<Dictionary<string, ReferenceCase[]>> References = new(() => ReadReferences("reference_logprobs.json"));
    private static readonly Lazy<Dictionary<string, ReferenceCase[]>> Int8References = new(() => ReadReferences("reference_int8_logprobs.json"));

    /// <summary>Reference log-probs of a plain-torch float64 forward, per dtype folder ("f32", "f16", "bf16").</summary>
    public static ReferenceCase[] ReferenceLogprobs(string dtype) => References.Value[dtype];

    /// <summary>
    /// Reference log-probs of the same forward with Dromedary's int8 scheme applied to the F32 weights ("row":
    /// one scale per row, "group128": per group of 128 inputs), activations quantized per block of 128.
    /// </summary>
    public static ReferenceCase[] ReferenceInt8Logprobs(string scheme) => Int8References.Value[scheme];

    private static Dictionary<string, ReferenceCase[]> ReadReferences(string file) =>
        JsonSerializer.Deserialize<Dictionary<string, ReferenceCase[]>>(File.ReadAllText(Path.Combine(TinyLlamaRoot, file)),
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!;

    public sealed record TokenizerCase(string Text, int[] Ids, string[] Pieces);

    public static TokenizerCase[] TokenizerCases() =>
        JsonSerializer.Deserialize<TokenizerCase[]>(File.ReadAllText(Path.Combine(TinyLlamaRoot, "tokenizer_cases.json")),
            new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
}
