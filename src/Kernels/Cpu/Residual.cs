using System.Numerics.Tensors;

namespace Dromedary.Kernels.Cpu;

/// <summary>The residual stream update.</summary>
public static class CpuResidual
{
    /// <summary>residual += delta, element by element; the spans must have equal length.</summary>
    public static void Add(Span<float> residual, ReadOnlySpan<float> delta)
    {
        if (residual.Length != delta.Length) throw new ArgumentException($"residual has {residual.Length} values, delta {delta.Length}");
        TensorPrimitives.Add(residual, delta, residual);
    }
}
