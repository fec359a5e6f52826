using Dromedary.Kernels.Cpu;

namespace Dromedary.Training.Lora;

/// <summary>
/// What every LoRA projection of the pass shares, sized once for the longest sequence: the fp32 GEMM for the small
/// matrices, the dropout, and scratch rows. Projections run one at a time, so one set of scratch serves them all.
/// </summary>
internal sealed class LoraWorkspace(CpuKernelSet set, int maxTokens, int maxInFeatures, int rank, LoraDropout dropout) : IDisposable
{
    public Fp32Gemm Gemm { get; } = new(set.Pool);
    public LoraDropout Dropout { get; } = dropout;

    /// <summary>[tokens, in]: the dropped-out input, later the dropped-out gradient of the LoRA branch.</summary>
    public float[] Dropped { get; } = new float[(long)maxTokens * maxInFeatures];

    /// <summary>[tokens, in]: a base input gradient that is to be added to another.</summary>
    public float[] BaseInputGradient { get; } = new float[(long)maxTokens * maxInFeatures];

    /// <summary>[tokens, r]: s·dropout(x)·Aᵀ and its gradient.</summary>
    public float[] Low { get; } = new float[(long)maxTokens * rank];
    public float[] LowGradient { get; } = new float[(long)maxTokens * rank];

    public void Dispose() => Gemm.Dispose();
}
