using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Dromedary.Kernels.Cpu;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// One fused AdamW update over fp32 parameters, gradients and moments in device memory, the same arithmetic as
/// <see cref="CpuAdamW"/> (decoupled decay, bias corrections worked out in double on the host, tensors in fp32),
/// with the gradient first multiplied by a clipping factor and cleared after use, so one launch covers what the
/// CPU does in three passes (scale, update, clear). One thread per element, grid-stride.
/// </summary>
public sealed class GpuAdamW
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWScalars> _step;

    public GpuAdamW(Accelerator accelerator, AdamWOptions options)
    {
        options.Validate();
        _accelerator = accelerator;
        Options = options;
        _step = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWScalars>(StepKernel);
    }

    public AdamWOptions Options { get; }

    /// <summary>
    /// Applies update number <paramref name="step"/> (1 for the first) with gradient·<paramref name="gradientScale"/>,
    /// then zeroes the gradient. All four views have equal length.
    /// </summary>
    public void Step(ArrayView<float> parameters, ArrayView<float> gradient, ArrayView<float> m, ArrayView<float> v, double learningRate,
        int step, float gradientScale = 1)
    {
        var n = parameters.Length;
        var scalars = Options.Scalars(n, gradient.Length, m.Length, v.Length, learningRate, step, gradientScale);
        if (n == 0) return;
        _step(GpuGroup.LaunchPerElement(_accelerator, n), parameters, gradient, m, v, scalars);
    }

    /// <summary>CpuAdamW's per-element sequence, after g = gradient·scale (GradientNorm.Scale's rounding).</summary>
    public static void StepKernel(ArrayView<float> parameters, ArrayView<float> gradient, ArrayView<float> m, ArrayView<float> v, AdamWScalars s)
    {
        for (var i = GpuGroup.GlobalIndex; i < s.Count; i += GpuGroup.GlobalStride)
        {
            var g = gradient[i] * s.GradientScale;
            var mi = m[i] * s.Beta1 + g * s.OneMinusBeta1;
            var vi = v[i] * s.Beta2 + g * g * s.OneMinusBeta2;
            m[i] = mi;
            v[i] = vi;
            parameters[i] = parameters[i] * s.Decay - mi / (XMath.Sqrt(vi) / s.Bias2Sqrt + s.Epsilon) * s.StepSize;
            gradient[i] = 0f;
        }
    }
}
