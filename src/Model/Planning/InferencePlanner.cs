using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Quantization;

namespace Dromedary.Model.Planning;

/// <summary>
/// The memory of running a model for inference on one kernel set: weights as that set lays them out, and per
/// sequence a KV cache and the session's activation buffers. It adds up the same sizes the set and
/// <see cref="LlamaSession"/> allocate, so its numbers are the truth for that set.
/// </summary>
public static class InferencePlanner
{
    /// <param name="groupSize">int8 group size (0 = per row); ignored for fp32.</param>
    /// <param name="sequences">Sessions held at once, each with its own cache and buffers.</param>
    /// <param name="engine">A batched engine (or scorer) held besides: its paged KV cache and step buffers.</param>
    public static MemoryPlan Plan(LlamaConfig config, IKernelSet kernels, Precision precision, int groupSize,
        int sequences, int context, int chunk, EngineOptions? engine = null)
    {
        chunk = Math.Max(1, Math.Min(chunk, context));
        var buffers = LlamaSession.Buffers(config, chunk).Sum(b => kernels.ActivationBytes(b.Rows, b.Cols));
        // A session's matmuls take a chunk of rows at a time, the engine's a step of tokens.
        var int8 = Int8Calls(config, precision, Math.Max(sequences > 0 ? chunk : 0, engine?.StepTokens ?? 0));
        return new MemoryPlan(
        [
            .. Weights(config, kernels, precision, groupSize),
            new("KV cache", $"{sequences} × {context} positions", sequences * kernels.KvCacheBytes(config.Layers, context, config.KvHeads, config.HeadDim)),
            new("activations", $"{sequences} × chunks of {chunk} tokens", sequences * buffers),
            .. engine is null ? [] : EngineItems(config, kernels, engine),
            .. Int8Scratch(kernels, int8),
            .. KernelSetOwn(kernels),
        ], int8);
    }

    /// <summary>
    /// The largest int8 matmul of calls of up to <paramref name="rows"/> rows: the widest int8 input is the down
    /// projection's (intermediate size) or the others' (hidden size). Null for fp32 weights or no rows.
    /// </summary>
    public static Int8MatMulBounds? Int8Calls(LlamaConfig config, Precision precision, int rows) =>
        precision == Precision.Int8 && rows > 0 ? new Int8MatMulBounds(rows, Math.Max(config.HiddenSize, config.IntermediateSize)) : null;

    /// <summary>The set's own buffers (<see cref="IKernelSet.OwnBytes"/>) as a line, where it has any.</summary>
    public static IEnumerable<MemoryItem> KernelSetOwn(IKernelSet kernels) =>
        kernels.OwnBytes > 0 ? [new("workspace", "the kernel set's own (attention and grad-norm partials, index buffers)", kernels.OwnBytes)] : [];

    /// <summary>The int8 matmul's activation scratch as its own line, where the set takes it from planned memory.</summary>
    public static IEnumerable<MemoryItem> Int8Scratch(IKernelSet kernels, Int8MatMulBounds? int8) =>
        int8 is { } bounds && kernels.Int8ScratchBytes(bounds) is > 0 and var bytes
            ? [new("workspace", $"int8 activation scratch ({bounds.Rows} rows × {bounds.Cols} columns)", bytes)]
            : [];

    /// <summary>What <see cref="PagedForward"/> allocates for <paramref name="engine"/>.</summary>
    private static MemoryItem[] EngineItems(LlamaConfig config, IKernelSet kernels, EngineOptions engine)
    {
        engine.Validate();
        var shape = PagedForward.CacheShape(config, engine);
        return
        [
            new("KV cache", $"paged: {shape.Blocks} blocks × {shape.BlockSize} positions", kernels.PagedKvCacheBytes(shape)),
            new("activations", $"engine steps of {engine.StepTokens} tokens",
                PagedForward.Buffers(config, engine).Sum(b => kernels.ActivationBytes(b.Rows, b.Cols))),
        ];
    }

    /// <summary>The model's weights as the set lays them out: the part of a plan that inference and training share.</summary>
    public static IEnumerable<MemoryItem> Weights(LlamaConfig config, IKernelSet kernels, Precision precision, int groupSize)
    {
        int d = config.HiddenSize, f = config.IntermediateSize, kv = config.KvDim, v = config.VocabSize;
        long Linear(int rows, int cols) =>
            kernels.LinearBytes(rows, cols, precision == Precision.Int8 ? Int8Format.EffectiveGroupSize(groupSize, cols) : 0);

        var layer = Linear(d, d) * 2 + Linear(kv, d) * 2 + Linear(f, d) * 2 + Linear(d, f);
        return
        [
            new("weights", $"linear layers ({config.Layers} × 7, {(precision == Precision.Int8 ? "int8" : "fp32")})", layer * config.Layers),
            new("weights", "LM head", Linear(v, d)),
            new("weights", $"embedding ({config.TorchDtype})", kernels.EmbeddingBytes(v, d, EmbeddingType(config))),
            new("weights", "norms", (2L * config.Layers + 1) * kernels.VectorBytes(d)),
            new("weights", "rotary table", kernels.RopeBytes(config.HeadDim, config.MaxPositions)),
        ];
    }

    /// <summary>Embeddings stay in the checkpoint's type (config.json's torch_dtype).</summary>
    private static ScalarType EmbeddingType(LlamaConfig config) => config.TorchDtype switch
    {
        "float16" => ScalarType.F16,
        "bfloat16" => ScalarType.BF16,
        _ => ScalarType.F32,
    };
}
