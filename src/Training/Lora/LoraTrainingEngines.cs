using Dromedary.Kernels.Cpu;
using Dromedary.Kernels.Gpu;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>The one place a training engine is chosen: by the kernel set the base model is loaded on.</summary>
public static class LoraTrainingEngines
{
    /// <param name="maxTokens">The longest sequence a micro-batch will hold.</param>
    /// <param name="microBatch">Sequences of a micro-batch: the engine runs them as one block of microBatch × maxTokens tokens.</param>
    /// <param name="seed">Keys the dropout masks, with the step and the sequence's place in it.</param>
    public static ILoraTrainingEngine Create(LlamaModel model, LoraAdapter adapter, int maxTokens, int microBatch, ulong seed, AdamWOptions options) =>
        model.Kernels switch
        {
            CpuKernelSet set => new CpuLoraTrainingEngine(model, set, adapter, maxTokens, microBatch, seed, options),
            IlgpuKernelSet => new IlgpuLoraTrainingEngine(model, adapter, maxTokens, microBatch, seed, options),
            _ => throw new DromedaryException($"LoRA training is not available on kernel set '{model.Kernels.Name}'; use --kernels cpu or ilgpu."),
        };
}
