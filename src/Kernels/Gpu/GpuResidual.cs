using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>The residual stream update.</summary>
public sealed class GpuResidual
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, long> _add;

    public GpuResidual(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _add = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, long>(AddKernel);
    }

    /// <summary>residual += delta, element by element; the views have equal length.</summary>
    public void Add(ArrayView<float> residual, ArrayView<float> delta) =>
        _add(GpuGroup.LaunchPerElement(_accelerator, residual.Length), residual, delta, residual.Length);

    public static void AddKernel(ArrayView<float> residual, ArrayView<float> delta, long count)
    {
        for (var i = GpuGroup.GlobalIndex; i < count; i += GpuGroup.GlobalStride) residual[i] += delta[i];
    }
}
