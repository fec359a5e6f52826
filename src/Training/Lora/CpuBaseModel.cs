using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// The frozen base model as the CPU kernels take it: the weights of a model loaded on a CPU kernel set (int8 or
/// fp32 linears) and the set itself, whose kernels the pass runs on its own buffers.
/// </summary>
internal sealed class CpuBaseModel
{
    public CpuBaseModel(LlamaModel model)
    {
        if (model.Kernels is not CpuKernelSet set)
            throw new DromedaryException($"LoRA training runs on a CPU kernel set ('cpu' or 'cpu-portable'); this model is loaded on '{model.Kernels.Name}'.");
        Model = model;
        Set = set;
        var embedding = (CpuEmbeddingTable)model.Embedding;
        (EmbeddingTable, EmbeddingType) = (embedding.Buffer, embedding.Type);
        Rope = (CpuRopeTable)model.Rope;
    }

    public LlamaModel Model { get; }
    public CpuKernelSet Set { get; }
    public NativeBuffer<byte> EmbeddingTable { get; }
    public ScalarType EmbeddingType { get; }
    public CpuRopeTable Rope { get; }

    public LinearWeight Projection(int layer, LoraTarget target) => Model.Layers[layer].Projection(target);

    public static ReadOnlySpan<float> Values(VectorWeight weight) => ((CpuVector)weight).Buffer.Span;
}
