using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// The LLaMA feed-forward gate, silu(g)·u with silu(g) = g·sigmoid(g), rounded as the CPU set does: the sigmoid
/// 1/(1 + exp(−g)), times g, times u. For g ≪ 0 exp(−g) is infinite and the product a clean −0.
/// </summary>
public sealed class GpuSwiGlu
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, long> _forward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, long> _backward;

    public GpuSwiGlu(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, long>(ForwardKernel);
        _backward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, long>(
            BackwardKernel);
    }

    /// <param name="output">may be the same view as gate or up; all three have equal length.</param>
    public void Forward(ArrayView<float> gate, ArrayView<float> up, ArrayView<float> output) =>
        _forward(GpuGroup.LaunchPerElement(_accelerator, gate.Length), gate, up, output, gate.Length);

    public static void ForwardKernel(ArrayView<float> gate, ArrayView<float> up, ArrayView<float> output, long count)
    {
        for (var i = GpuGroup.GlobalIndex; i < count; i += GpuGroup.GlobalStride)
        {
            var g = gate[i];
            var sigmoid = 1f / (1f + XMath.Exp(-g));
            output[i] = sigmoid * g * up[i];
        }
    }

    /// <summary>
    /// dUp = dOut·silu(g) and dGate = dOut·u·silu′(g) with silu′(g) = σ(g)·(1 + g·(1 − σ(g))), rounded in the CPU
    /// set's order; no inf·0 for large |g| (see <see cref="Cpu.CpuSwiGlu.Backward"/>).
    /// </summary>
    /// <param name="dGate">may be the same view as any input; likewise <paramref name="dUp"/> (but not as dGate).</param>
    public void Backward(ArrayView<float> gate, ArrayView<float> up, ArrayView<float> dOut, ArrayView<float> dGate, ArrayView<float> dUp) =>
        _backward(GpuGroup.LaunchPerElement(_accelerator, gate.Length), gate, up, dOut, dGate, dUp, gate.Length);

    public static void BackwardKernel(ArrayView<float> gate, ArrayView<float> up, ArrayView<float> dOut, ArrayView<float> dGate,
        ArrayView<float> dUp, long count)
    {
        for (var i = GpuGroup.GlobalIndex; i < count; i += GpuGroup.GlobalStride)
        {
            float g = gate[i], u = up[i], d = dOut[i];
            var sigmoid = 1f / (1f + XMath.Exp(-g));
            var slope = (g * (1f - sigmoid) + 1f) * sigmoid;
            dUp[i] = sigmoid * g * d;
            dGate[i] = slope * u * d;
        }
    }
}
