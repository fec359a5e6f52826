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
        if (gradient.Length != n || m.Length != n || v.Length != n)
            throw new ArgumentException($"parameters ({n}), gradient ({gradient.Length}), m ({m.Length}) and v ({v.Length}) must have equal length");
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        if (!(learningRate >= 0) || double.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be finite and ≥ 0");
        var scalars = new AdamWScalars(
            (float)Options.Beta1, (float)Options.Beta2, (float)Options.Epsilon, (float)(1 - Options.Beta1), (float)(1 - Options.Beta2),
            (float)(1 - learningRate * Options.WeightDecay), (float)(learningRate / (1 - Math.Pow(Options.Beta1, step))),
            (float)Math.Sqrt(1 - Math.Pow(Options.Beta2, step)), gradientScale, n);
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

/// <summary>One update's scalars, as CpuAdamW rounds them to fp32.</summary>
public readonly record struct AdamWScalars(float Beta1, float Beta2, float Epsilon, float OneMinusBeta1, float OneMinusBeta2, float Decay,
    float StepSize, float Bias2Sqrt, float GradientScale, long Count);
