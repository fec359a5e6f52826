using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// Dropout with the CPU's masks: values (row-major) are multiplied by the mask of one SplitMix64 stream, value i
/// taking the low (even i) or high (odd i) 32 bits of the stream's number i/2: zeroed when those bits are below
/// the threshold, else scaled by keep. SplitMix64's number k is mix(seed + (k + 1)·γ), so each thread computes its
/// own bits directly, with no sequential generator.
/// </summary>
public sealed class GpuDropout
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, long, ulong, uint, float> _apply;

    public GpuDropout(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _apply = accelerator.LoadStreamKernel<ArrayView<float>, long, ulong, uint, float>(ApplyKernel);
    }

    /// <summary>Applies the mask of <paramref name="stream"/> in place; applied to a gradient, it is its own backward.</summary>
    public void Apply(ArrayView<float> values, ulong stream, uint threshold, float keep)
    {
        if (values.Length == 0) return;
        _apply(GpuGroup.LaunchPerElement(_accelerator, values.Length), values, values.Length, stream, threshold, keep);
    }

    public static void ApplyKernel(ArrayView<float> values, long count, ulong stream, uint threshold, float keep)
    {
        for (var i = GpuGroup.GlobalIndex; i < count; i += GpuGroup.GlobalStride)
        {
            var z = stream + (ulong)(i / 2 + 1) * Gamma;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            var bits = (i & 1) == 0 ? (uint)z : (uint)(z >> 32);
            values[i] = bits < threshold ? 0f : values[i] * keep;
        }
    }
}
