using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Kernels.Gpu;
using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Training.Lora;

/// <summary>
/// The ILGPU kernels a training pass runs — the set's own forward ops (with their backward kernels) and the
/// training-only ones, compiled here once — and the device memory it takes: every buffer is carved from the set's
/// arena here, at construction, and returned with <see cref="Dispose"/>.
/// </summary>
internal sealed class GpuTrainingOps : IDisposable
{
    private readonly IlgpuKernelSet _set;
    private readonly List<IDisposable> _owned = [];

    private GpuTrainingOps(IlgpuKernelSet set, AdamWOptions options)
    {
        _set = set;
        var accelerator = set.Runtime.Accelerator;
        CrossEntropy = new GpuCrossEntropy(accelerator);
        AdamW = new GpuAdamW(accelerator, options);
        Dropout = new GpuDropout(accelerator);
    }

    /// <summary>Kernels compiled for <paramref name="set"/>'s accelerator; buffers come from its arena.</summary>
    public static GpuTrainingOps On(IlgpuKernelSet set, AdamWOptions options) => new(set, options);

    public GpuEmbedding Embedding => _set.EmbeddingOp;
    public GpuRmsNorm RmsNorm => _set.RmsNormOp;
    public GpuRope Rope => _set.RopeOp;
    public GpuAttention Attention => _set.AttentionOp;
    public GpuSwiGlu SwiGlu => _set.SwiGluOp;
    public GpuResidual Residual => _set.ResidualOp;
    public GpuFp32MatMul Fp32 => _set.Fp32Op;
    public GpuCrossEntropy CrossEntropy { get; }
    public GpuAdamW AdamW { get; }
    public GpuDropout Dropout { get; }
    public GpuGradientNorm Norm => _set.GradientNormOp;

    /// <summary>A zeroed buffer of the arena, returned with <see cref="Dispose"/>.</summary>
    public ArrayView<float> Floats(long length) => Allocate<float>(length);

    public ArrayView<int> Ints(long length) => Allocate<int>(length);

    private ArrayView<T> Allocate<T>(long length) where T : unmanaged
    {
        var buffer = _set.Arena.Allocate<T>(length);
        _owned.Add(buffer);
        buffer.View.MemSetToZero();
        return buffer.View;
    }

    /// <summary>y[rows, w.Rows] = x · Wᵀ through a frozen weight of the ilgpu set, on the set's own matmuls.</summary>
    public void Linear(ArrayView<float> x, int rows, LinearWeight weight, ArrayView<float> y) => _set.Linear(x, rows, weight, y);

    /// <summary>dX[rows, w.Cols] = dY · W: the input gradient through a frozen weight.</summary>
    public void LinearBackwardInput(ArrayView<float> dY, int rows, LinearWeight weight, ArrayView<float> dX) =>
        _set.LinearBackwardInput(dY, rows, weight, dX);

    public void Dispose()
    {
        foreach (var owned in _owned) owned.Dispose();
        _owned.Clear();
    }
}

/// <summary>The first rows of a row-major device matrix.</summary>
internal static class DeviceRows
{
    public static ArrayView<float> Rows(this ArrayView<float> view, int rows, int width) => view.SubView(0, (long)rows * width);
}
