using Dromedary.Kernels.Cpu;

namespace Dromedary.Training.Lora;

/// <summary>
/// What every LoRA projection of the pass shares, sized once for the longest sequence: the fp32 GEMM for the small
/// matrices, the dropout, and scratch rows. Projections run one at a time, so one set of scratch serves them all.
/// </summary>
/// <param name="maxInFeatures">
/// The widest input of an adapted projection; at least the hidden size, the input of every projection whose input
/// gradient is added to another's.
/// </param>
internal sealed class LoraWorkspace(CpuKernelSet set, int maxTokens, int maxInFeatures, int rank, LoraDropout dropout) : IDisposable
{
    private readonly Dictionary<string, float[]> _all =
        Shapes(maxTokens, maxInFeatures, rank).ToDictionary(s => s.Name, s => new float[(long)s.Rows * s.Cols]);

    /// <summary>The scratch buffers, one list for this class and the training memory plan.</summary>
    public static IEnumerable<(string Name, int Rows, int Cols)> Shapes(int maxTokens, int maxInFeatures, int rank) =>
    [
        ("dropped", maxTokens, maxInFeatures), ("base input gradient", maxTokens, maxInFeatures),
        ("low", maxTokens, rank), ("low gradient", maxTokens, rank),
    ];

    public Fp32Gemm Gemm { get; } = new(set.Pool);
    public LoraDropout Dropout { get; } = dropout;

    /// <summary>[tokens, in]: the dropped-out input, later the dropped-out gradient of the LoRA branch.</summary>
    public float[] Dropped => _all["dropped"];

    /// <summary>[tokens, in]: a base input gradient that is to be added to another.</summary>
    public float[] BaseInputGradient => _all["base input gradient"];

    /// <summary>[tokens, r]: s·dropout(x)·Aᵀ and its gradient.</summary>
    public float[] Low => _all["low"];
    public float[] LowGradient => _all["low gradient"];

    /// <summary>Bytes of the scratch buffers, as allocated.</summary>
    public long Bytes => _all.Values.Sum(b => (long)b.Length * sizeof(float));

    public void Dispose() => Gemm.Dispose();
}
