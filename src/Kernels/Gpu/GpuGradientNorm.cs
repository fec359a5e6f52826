using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// The global L2 norm of gradients in device memory: each group sums the squares of a grid-stride share in fp32
/// (a few hundred values a thread for ~10⁸ gradients) and writes one partial; the host adds the partials in double,
/// in order, so the result does not depend on timing (no atomics). Partials are allocated once, at construction.
/// </summary>
public sealed class GpuGradientNorm : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, long> _sumOfSquares;
    private readonly DeviceBuffer<float> _partials;
    private readonly float[] _host;

    public GpuGradientNorm(Accelerator accelerator, DeviceArena arena)
    {
        _accelerator = accelerator;
        _sumOfSquares = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, long>(SumOfSquaresKernel);
        var groups = GpuGroup.Launch(accelerator, long.MaxValue).GridDim.X;
        _partials = arena.Allocate<float>(groups);
        _host = new float[groups];
    }

    /// <summary>Σ gradient², summed on the device per group and over groups in double here; waits for the device.</summary>
    public double SumOfSquares(ArrayView<float> gradient)
    {
        if (gradient.Length == 0) return 0;
        var config = GpuGroup.LaunchPerElement(_accelerator, gradient.Length);
        _sumOfSquares(config, gradient, _partials.View, gradient.Length);
        var groups = config.GridDim.X;
        _partials.View.SubView(0, groups).CopyToCPU(_host.AsSpan(0, groups));
        var sum = 0.0;
        for (var g = 0; g < groups; g++) sum += _host[g];
        return sum;
    }

    public static void SumOfSquaresKernel(ArrayView<float> gradient, ArrayView<float> partials, long count)
    {
        var scratch = SharedMemory.Allocate<float>(GpuGroup.Warps);
        var sum = 0f;
        for (var i = GpuGroup.GlobalIndex; i < count; i += GpuGroup.GlobalStride) sum += gradient[i] * gradient[i];
        sum = GpuGroup.Sum(sum, scratch);
        if (Group.IdxX == 0) partials[Grid.IdxX] = sum;
    }

    public void Dispose() => _partials.Dispose();
}
