using System.Text.Json.Nodes;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Safetensors;

namespace Dromedary.Model.Lora;

/// <summary>
/// Writes a base model with an adapter merged in, as a plain Hugging Face checkpoint (PEFT's merge_and_unload):
/// each targeted projection becomes W + (alpha/r)·B·A, computed in fp32 from the original weights, and every
/// tensor is stored in the chosen dtype. Streams tensor by tensor, so memory stays near the largest tensor. An
/// int8 checkpoint is refused: its rounding would be merged in and rounded again.
/// </summary>
public static class LoraMerger
{
    /// <param name="dtype">F16, BF16 or F32; null keeps the base's own (that of its embedding).</param>
    /// <param name="progress">Receives (tensors done, total).</param>
    public static void Run(string baseFolder, string adapterFolder, string output, ScalarType? dtype, IProgress<(int Done, int Total)>? progress = null)
    {
        if (dtype is { } type && type is not (ScalarType.F16 or ScalarType.BF16 or ScalarType.F32))
            throw new DromedaryException($"a merged checkpoint is stored as F16, BF16 or F32, not {type}.");
        var config = LlamaConfig.Load(baseFolder);
        var adapter = LoraAdapter.Load(adapterFolder, config);
        using var checkpoint = Checkpoint.Open(baseFolder);
        if (checkpoint.Tensors.Any(t => t.Type == ScalarType.I8))
            throw new DromedaryException($"{baseFolder}: holds int8 weights (from dromedary quantize); merge into the original F16, BF16 or F32 checkpoint, " +
                                         "then quantize the merged one if you need int8.");
        var target = dtype ?? checkpoint.Get(TensorNames.Embedding).Type;
        var byTensor = adapter.Matrices.ToDictionary(m => TensorNames.LayerWeight(m.Layer, m.Target.ModulePath()), StringComparer.Ordinal);
        using var floats = new ScratchBuffer<float>();
        using var bytes = new ScratchBuffer<byte>();
        CheckpointRewriter.Run(checkpoint, output, new Dictionary<string, string> { ["format"] = "pt" },
            tensor => [new TensorSpec(tensor.Name, target, tensor.Shape)],
            (writer, tensor) =>
            {
                var lora = byTensor.GetValueOrDefault(tensor.Name);
                if (lora == null && tensor.Type == target)
                {
                    writer.Write(tensor.Name, checkpoint.Span(tensor));
                    return;
                }
                var count = tensor.Shape.Aggregate(1L, (a, b) => a * b);
                var values = floats.Take(count);
                ScalarConvert.ToFloat(checkpoint.Span(tensor), tensor.Type, values);
                lora?.AddTo(values);
                var converted = bytes.Take(count * target.SizeOf());
                ScalarConvert.FromFloat(values, target, converted);
                writer.Write(tensor.Name, converted);
            }, progress);
        SetTorchDtype(Path.Combine(output, "config.json"), target);
    }

    /// <summary>config.json's torch_dtype names the stored dtype, as transformers writes it.</summary>
    private static void SetTorchDtype(string path, ScalarType type)
    {
        var config = JsonNode.Parse(File.ReadAllBytes(path))!.AsObject();
        config["torch_dtype"] = type switch { ScalarType.F16 => "float16", ScalarType.BF16 => "bfloat16", _ => "float32" };
        AtomicFile.Write(path, System.Text.Encoding.UTF8.GetBytes(config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n"));
    }
}
