using Dromedary.Kernels.Cpu;

namespace Dromedary.Training.Lora;

/// <summary>
/// What every LoRA projection of the pass shares: the fp32 GEMM for the small matrices, the dropout, and scratch
/// rows for a whole block (<see cref="TrainingBuffers"/>' LoRA scratch part). Projections run one at a time, so one
/// set of scratch serves them all.
/// </summary>
/// <param name="buffers">Buffers by their names in <see cref="TrainingBuffers"/>; more may be there.</param>
internal sealed class LoraWorkspace(CpuKernelSet set, IReadOnlyDictionary<string, float[]> buffers, LoraDropout dropout) : IDisposable
{
    public Fp32Gemm Gemm { get; } = new(set.Pool);
    public LoraDropout Dropout { get; } = dropout;

    /// <summary>[tokens, in]: the dropped-out input, later the dropped-out gradient of the LoRA branch.</summary>
    public float[] Dropped { get; } = buffers["dropped"];

    /// <summary>[tokens, in]: a base input gradient that is to be added to another.</summary>
    public float[] BaseInputGradient { get; } = buffers["base input gradient"];

    /// <summary>[tokens, r]: s·dropout(x)·Aᵀ and its gradient.</summary>
    public float[] Low { get; } = buffers["low"];
    public float[] LowGradient { get; } = buffers["low gradient"];

    public void Dispose() => Gemm.Dispose();
}
