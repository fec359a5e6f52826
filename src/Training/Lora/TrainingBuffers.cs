using Dromedary.Model.Config;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>What a buffer of a LoRA training pass is for: each part is one line of the training memory plan.</summary>
public enum TrainingMemory
{
    Adapter,
    AdapterGradients,
    AdamWMoments,
    SavedInputs,
    Layer,
    Head,
    LoraScratch,
    Tokens,
}

/// <summary>
/// One buffer of a LoRA training pass, [rows, cols] of 4-byte values (fp32, or int32 when <paramref name="Integer"/>).
/// </summary>
/// <param name="DeviceOnly">Held by the device engine only: the CPU kernels sum what it holds as they go.</param>
public readonly record struct TrainingBuffer(TrainingMemory Part, string Name, int Rows, int Cols, bool Integer = false, bool DeviceOnly = false);

/// <summary>
/// THE list of buffers a LoRA training pass holds for blocks of up to <c>blockTokens</c> tokens (a micro-batch's
/// sequences packed together): the training memory plan sums it, the ILGPU engine carves exactly these from its
/// arena and the CPU pass allocates its activations from it (its adapter, gradients and moments are the host
/// arrays of the adapter and the engine, of the listed sizes).
/// </summary>
public static class TrainingBuffers
{
    /// <summary>
    /// Rows of logits computed at once: the cross-entropy over the vocabulary runs on chunks of this many tokens,
    /// so the logits never take [tokens, vocab].
    /// </summary>
    public const int HeadChunk = 1024;

    /// <param name="blockTokens">Tokens of one block: micro-batch × the longest sequence.</param>
    public static IEnumerable<TrainingBuffer> For(LlamaConfig config, LoraConfig lora, int blockTokens, int headChunk = HeadChunk)
    {
        int n = blockTokens, d = config.HiddenSize, chunk = Math.Min(blockTokens, headChunk);
        var parameters = checked((int)AdapterParameters(config, lora));
        yield return new(TrainingMemory.Adapter, "adapter", 1, parameters);
        yield return new(TrainingMemory.AdapterGradients, "adapter gradients", 1, parameters);
        yield return new(TrainingMemory.AdamWMoments, "adamw first moments", 1, parameters);
        yield return new(TrainingMemory.AdamWMoments, "adamw second moments", 1, parameters);
        for (var l = 0; l <= config.Layers; l++) yield return new(TrainingMemory.SavedInputs, $"layer {l} input", n, d);
        foreach (var (name, rows, cols) in LayerShapes(config, n)) yield return new(TrainingMemory.Layer, name, rows, cols);
        yield return new(TrainingMemory.Head, "final normed", n, d);
        yield return new(TrainingMemory.Head, "residual gradient", n, d);
        yield return new(TrainingMemory.Head, "logits chunk", chunk, config.VocabSize);
        var widest = WidestInput(config, lora);
        yield return new(TrainingMemory.LoraScratch, "dropped", n, widest);
        yield return new(TrainingMemory.LoraScratch, "base input gradient", n, widest);
        yield return new(TrainingMemory.LoraScratch, "low", n, lora.Rank);
        yield return new(TrainingMemory.LoraScratch, "low gradient", n, lora.Rank);
        yield return new(TrainingMemory.Tokens, "token ids", n, 1, Integer: true);
        yield return new(TrainingMemory.Tokens, "positions", n, 1, Integer: true);
        yield return new(TrainingMemory.Tokens, "targets", n, 1, Integer: true);
        yield return new(TrainingMemory.Tokens, "token losses", chunk, 1, DeviceOnly: true);
    }

    /// <summary>Values in all the adapter's A and B matrices.</summary>
    public static long AdapterParameters(LlamaConfig config, LoraConfig lora) =>
        config.Layers * lora.Targets.Sum(t =>
        {
            var (outFeatures, inFeatures) = t.Shape(config);
            return (long)lora.Rank * (inFeatures + outFeatures);
        });

    /// <summary>
    /// One layer's activations and their gradients, shared by all layers (a layer's forward is recomputed from its
    /// saved input just before its backward, so only one layer's worth is ever live). Forward: the attention-normed
    /// input, rotated queries and keys, values, attention output, a projection's output, the residual after
    /// attention, its MLP-normed copy, gate, up and their SwiGLU product. Backward: the gradients of those; the norm
    /// input gradient is a normed input's gradient, the norm output gradient the one an RMSNorm passes back to the
    /// residual stream.
    /// </summary>
    internal static IEnumerable<(string Name, int Rows, int Cols)> LayerShapes(LlamaConfig config, int n)
    {
        int d = config.HiddenSize, kv = config.KvDim, f = config.IntermediateSize;
        return
        [
            ("attention input", n, d), ("query", n, d), ("key", n, kv), ("value", n, kv), ("attention", n, d),
            ("projection", n, d), ("residual", n, d), ("mlp input", n, d), ("gate", n, f), ("up", n, f), ("product", n, f),
            ("product gradient", n, f), ("gate gradient", n, f), ("up gradient", n, f), ("norm input gradient", n, d),
            ("norm output gradient", n, d), ("attention gradient", n, d), ("query gradient", n, d), ("key gradient", n, kv),
            ("value gradient", n, kv),
        ];
    }

    /// <summary>
    /// The widest input of an adapted projection, never less than the hidden size: the input of every projection
    /// whose input gradient is added to another's (the LoRA scratch's width).
    /// </summary>
    internal static int WidestInput(LlamaConfig config, LoraConfig lora) =>
        lora.Targets.Select(t => t.Shape(config).In).Append(config.HiddenSize).Max();
}
