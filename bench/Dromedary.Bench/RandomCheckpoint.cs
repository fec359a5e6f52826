using System.Runtime.InteropServices;
using System.Text.Json;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Safetensors;

namespace Dromedary.Bench;

/// <summary>
/// Writes a LLaMA-shaped checkpoint of random F16 weights, so benchmarks load through the same path a user's
/// model takes. Written once per shape and reused (it is a few GB for the mid-size model).
/// </summary>
internal static class RandomCheckpoint
{
    public static string Ensure(LlamaConfig config, string name)
    {
        var directory = Path.Combine(Path.GetTempPath(), "dromedary-bench", name);
        if (File.Exists(Path.Combine(directory, "model.safetensors"))) return directory;
        Directory.CreateDirectory(directory);
        Console.Error.WriteLine($"writing a random {name} checkpoint to {directory} (once)...");

        var tensors = Shapes(config).ToList();
        var specs = tensors.Select(t => new TensorSpec(t.Name, ScalarType.F16, t.Shape)).ToList();
        using var writer = new SafetensorsWriter(Path.Combine(directory, "model.safetensors"), specs, new Dictionary<string, string> { ["format"] = "pt" });
        var random = new Random(1234);
        foreach (var (tensorName, shape) in tensors)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);
            var values = new Half[count];
            var norm = tensorName.EndsWith("norm.weight", StringComparison.Ordinal);
            var std = norm ? 0.0 : 1.0 / Math.Sqrt(shape[^1]);
            for (var i = 0; i < values.Length; i++) values[i] = (Half)(norm ? 1.0 : (random.NextDouble() * 2 - 1) * std * Math.Sqrt(3));
            writer.Write(tensorName, MemoryMarshal.AsBytes(values.AsSpan()));
        }
        writer.Complete();
        File.WriteAllText(Path.Combine(directory, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_type"] = "llama",
            ["hidden_size"] = config.HiddenSize,
            ["intermediate_size"] = config.IntermediateSize,
            ["num_attention_heads"] = config.Heads,
            ["num_key_value_heads"] = config.KvHeads,
            ["num_hidden_layers"] = config.Layers,
            ["vocab_size"] = config.VocabSize,
            ["max_position_embeddings"] = config.MaxPositions,
            ["rms_norm_eps"] = config.RmsNormEps,
            ["torch_dtype"] = "float16",
        }));
        return directory;
    }

    /// <summary>Every tensor of a LLaMA of this shape, in Hugging Face names.</summary>
    public static IEnumerable<(string Name, long[] Shape)> Shapes(LlamaConfig c)
    {
        yield return (TensorNames.Embedding, [c.VocabSize, c.HiddenSize]);
        for (var l = 0; l < c.Layers; l++)
        {
            yield return (TensorNames.LayerWeight(l, "input_layernorm"), [c.HiddenSize]);
            yield return (TensorNames.LayerWeight(l, "self_attn.q_proj"), [c.HiddenSize, c.HiddenSize]);
            yield return (TensorNames.LayerWeight(l, "self_attn.k_proj"), [c.KvDim, c.HiddenSize]);
            yield return (TensorNames.LayerWeight(l, "self_attn.v_proj"), [c.KvDim, c.HiddenSize]);
            yield return (TensorNames.LayerWeight(l, "self_attn.o_proj"), [c.HiddenSize, c.HiddenSize]);
            yield return (TensorNames.LayerWeight(l, "post_attention_layernorm"), [c.HiddenSize]);
            yield return (TensorNames.LayerWeight(l, "mlp.gate_proj"), [c.IntermediateSize, c.HiddenSize]);
            yield return (TensorNames.LayerWeight(l, "mlp.up_proj"), [c.IntermediateSize, c.HiddenSize]);
            yield return (TensorNames.LayerWeight(l, "mlp.down_proj"), [c.HiddenSize, c.IntermediateSize]);
        }
        yield return (TensorNames.FinalNorm, [c.HiddenSize]);
        yield return (TensorNames.Head, [c.VocabSize, c.HiddenSize]);
    }
}
