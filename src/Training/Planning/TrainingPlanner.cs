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
/// The memory of one LoRA training step on a kernel set: the frozen base weights as the set lays them out, the
/// adapter with its gradients and AdamW moments, and for a micro-batch run as one block of micro-batch × cutoff
/// tokens: every layer's saved input (per-layer checkpointing), one layer's activations and gradients, the head
/// (the cross-entropy runs on chunks of <see cref="LoraTrainingPass.HeadChunk"/> tokens, so the logits are one
/// chunk × vocab) and the LoRA scratch. The buffer lists are the ones <see cref="LoraTrainingPass"/> allocates
/// from, at the set's activation size (fp32). Attention is the streamed kind that recomputes its probabilities,
/// as the CPU kernel does: no [heads, tokens, tokens] scores are kept.
/// </summary>
public static class TrainingPlanner
{
    /// <summary>The largest micro-batch <see cref="ChooseMicroBatch"/> tries.</summary>
    public const int MaxMicroBatch = 1024;

    public static MemoryPlan Plan(LlamaConfig config, IKernelSet kernels, TrainingPlanOptions options)
    {
        Check(config, options);
        var lora = options.Lora;
        var tokens = options.MicroBatch * options.Cutoff;
        long Sum(IEnumerable<(string Name, int Rows, int Cols)> shapes) => shapes.Sum(s => kernels.ActivationBytes(s.Rows, s.Cols));

        var adapter = config.Layers * lora.Targets.Sum(t =>
        {
            var (outFeatures, inFeatures) = t.Shape(config);
            return kernels.ActivationBytes(lora.Rank, inFeatures) + kernels.ActivationBytes(outFeatures, lora.Rank);
        });
        var targets = string.Join(", ", lora.Targets.Select(t => t.PeftName()[..^"_proj".Length]));
        var batch = $"{options.MicroBatch} × {options.Cutoff} tokens";
        return new MemoryPlan(
        [
            .. InferencePlanner.Weights(config, kernels, options.Precision, options.GroupSize),
            new("adapter", $"LoRA A and B (r={lora.Rank} on {targets}, fp32)", adapter),
            new("adapter", "their gradients", adapter),
            new("adapter", "AdamW moments (2, fp32)", 2 * adapter),
            new("saved inputs", $"{config.Layers + 1} layer inputs × {batch}", (config.Layers + 1) * kernels.ActivationBytes(tokens, config.HiddenSize)),
            new("layer", $"one layer's activations and gradients, {batch}", Sum(LayerBuffers.Shapes(config, tokens))),
            new("head", $"final norm and its gradient, logits of {Math.Min(tokens, LoraTrainingPass.HeadChunk)} tokens at a time",
                Sum(LoraTrainingPass.HeadShapes(config, tokens))),
            new("workspace", "LoRA scratch", Sum(LoraWorkspace.Shapes(tokens, LoraTrainingPass.WidestInput(config, lora), lora.Rank))),
        ]);
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
        if (options.MicroBatch < 1 || (long)options.MicroBatch * options.Cutoff > int.MaxValue)
            throw new DromedaryException($"a micro-batch of {options.MicroBatch} × {options.Cutoff} tokens is out of range.");
    }
}
