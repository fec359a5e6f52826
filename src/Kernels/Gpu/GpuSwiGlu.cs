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

    public GpuSwiGlu(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, long>(ForwardKernel);
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
}
