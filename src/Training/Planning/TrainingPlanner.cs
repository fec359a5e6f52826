using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Planning;
using Dromedary.Training.Lora;

namespace Dromedary.Training.Planning;

/// <summary>What a LoRA training step is planned for: the base weights' precision, the adapter, the micro-batch.</summary>
/// <param name="GroupSize">int8 group size (0 = per row); ignored for fp32.</param>
/// <param name="Cutoff">Tokens per sequence (the data's cutoff length).</param>
public sealed record TrainingPlanOptions(Precision Precision, int GroupSize, LoraConfig Lora, int MicroBatch, int Cutoff);

/// <summary>
/// The memory of one LoRA training step on a kernel set: the frozen base weights as the set lays them out, and the
/// buffers of <see cref="TrainingBuffers"/> for a block of micro-batch × cutoff tokens — the adapter with its
/// gradients and AdamW moments, every layer's saved input (per-layer checkpointing), one layer's activations and
/// gradients, the head (the cross-entropy runs on chunks of <see cref="TrainingBuffers.HeadChunk"/> tokens, so the
/// logits are one chunk × vocab), the LoRA scratch and the tokens — at the set's activation size — and, for int8
/// weights, the int8 matmul's activation scratch for a block's rows where the set takes it from planned memory.
/// Loading the base with this plan (<see cref="ModelLoadOptions.Memory"/>) sizes the arena to it. The engines run
/// a micro-batch as that one block and allocate exactly that list: the ILGPU engine carves it from its arena, the
/// CPU pass allocates its activations from it. Attention is the streamed kind that recomputes its probabilities:
/// no [heads, tokens, tokens] scores are kept.
/// </summary>
public static class TrainingPlanner
{
    /// <summary>The largest micro-batch <see cref="ChooseMicroBatch"/> tries.</summary>
    public const int MaxMicroBatch = 1024;

    public static MemoryPlan Plan(LlamaConfig config, IKernelSet kernels, TrainingPlanOptions options)
    {
        Check(config, options);
        var lora = options.Lora;
        var targets = string.Join(", ", lora.Targets.Select(t => t.PeftName()[..^"_proj".Length]));
        var batch = $"{options.MicroBatch} × {options.Cutoff} tokens";
        var tokens = options.MicroBatch * options.Cutoff;
        var parts = TrainingBuffers.For(config, lora, tokens).GroupBy(b => b.Part)
            .ToDictionary(g => g.Key, g => g.Sum(b => kernels.ActivationBytes(b.Rows, b.Cols)));
        // The layers' matmuls take the whole block; the head's take chunks of it.
        var int8 = InferencePlanner.Int8Calls(config, options.Precision, tokens);
        return new MemoryPlan(
        [
            .. InferencePlanner.Weights(config, kernels, options.Precision, options.GroupSize),
            new("adapter", $"LoRA A and B (r={lora.Rank} on {targets}, fp32)", parts[TrainingMemory.Adapter]),
            new("adapter", "their gradients", parts[TrainingMemory.AdapterGradients]),
            new("adapter", "AdamW moments (2, fp32)", parts[TrainingMemory.AdamWMoments]),
            new("saved inputs", $"{config.Layers + 1} layer inputs × {batch}", parts[TrainingMemory.SavedInputs]),
            new("layer", $"one layer's activations and gradients, {batch}", parts[TrainingMemory.Layer]),
            new("head", $"final norm and its gradient, logits of {Math.Min(tokens, TrainingBuffers.HeadChunk)} tokens at a time", parts[TrainingMemory.Head]),
            new("workspace", "LoRA scratch", parts[TrainingMemory.LoraScratch]),
            new("workspace", "token ids, positions, targets, losses", parts[TrainingMemory.Tokens]),
            .. InferencePlanner.Int8Scratch(kernels, int8),
            .. InferencePlanner.KernelSetOwn(kernels),
        ], int8);
    }

    /// <summary>
    /// The largest power-of-two micro-batch (1, 2, 4 … <see cref="MaxMicroBatch"/>) whose plan fits in
    /// <paramref name="deviceBytes"/>, with its plan; options.MicroBatch is ignored. Powers of two divide the
    /// method's global batches (128, 768) into whole accumulation steps. Throws the breakdown when 1 does not fit.
    /// </summary>
    public static (int MicroBatch, MemoryPlan Plan) ChooseMicroBatch(LlamaConfig config, IKernelSet kernels, TrainingPlanOptions options,
        long deviceBytes, string where)
    {
        var plan = Plan(config, kernels, options with { MicroBatch = 1 });
        plan.EnsureFits(deviceBytes, where);
        var microBatch = 1;
        while (microBatch < MaxMicroBatch)
        {
            var larger = Plan(config, kernels, options with { MicroBatch = microBatch * 2 });
            if (larger.Total > deviceBytes) break;
            (microBatch, plan) = (microBatch * 2, larger);
        }
        return (microBatch, plan);
    }

    private static void Check(LlamaConfig config, TrainingPlanOptions options)
    {
        options.Lora.Validate("LoRA options");
        if (options.Cutoff < 1 || options.Cutoff > config.MaxPositions)
            throw new DromedaryException($"the cutoff must be 1 .. {config.MaxPositions} tokens (max_position_embeddings), not {options.Cutoff}.");
        TrainingTargets.BlockTokens(options.Cutoff, options.MicroBatch);
    }
}
