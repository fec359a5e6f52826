using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// Rotary position embedding in Hugging Face's rotate-half layout (dimension i pairs with i + headDim/2), with
/// the CPU set's cos/sin table uploaded, so both sets rotate by the same values.
/// </summary>
public sealed class GpuRope
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int> _forward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int> _backward;

    public GpuRope(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>(ForwardKernel);
        _backward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>(BackwardKernel);
    }

    /// <param name="x">[rows, heads·headDim], rotated in place; row r sits at positions[r].</param>
    /// <param name="positions">one per row, already checked to lie in the table.</param>
    /// <param name="cos">[maxPositions, headDim/2]; <paramref name="sin"/> likewise.</param>
    public void Apply(ArrayView<float> x, ArrayView<int> positions, ArrayView<float> cos, ArrayView<float> sin, int heads, int headDim) =>
        Launch(_forward, x, positions, cos, sin, heads, headDim);

    /// <summary>
    /// The gradient through <see cref="Apply"/>, in place: a rotation's transpose is the rotation by −angle, which
    /// is the forward's rotation with the halves swapped (as the CPU set does it).
    /// </summary>
    public void ApplyBackward(ArrayView<float> dx, ArrayView<int> positions, ArrayView<float> cos, ArrayView<float> sin, int heads, int headDim) =>
        Launch(_backward, dx, positions, cos, sin, heads, headDim);

    private void Launch(Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int> kernel,
        ArrayView<float> x, ArrayView<int> positions, ArrayView<float> cos, ArrayView<float> sin, int heads, int headDim)
    {
        var rows = (int)positions.Length;
        kernel(GpuGroup.LaunchPerElement(_accelerator, (long)rows * heads * (headDim / 2)), x, positions, cos, sin, rows, heads, headDim);
    }

    /// <summary>One thread per (row, head, pair): a·cos − b·sin and b·cos + a·sin, as the CPU rounds them.</summary>
    public static void ForwardKernel(ArrayView<float> x, ArrayView<int> positions, ArrayView<float> cos, ArrayView<float> sin,
        int rows, int heads, int headDim) =>
        Rotate(x, positions, cos, sin, rows, heads, headDim, 0);

    public static void BackwardKernel(ArrayView<float> dx, ArrayView<int> positions, ArrayView<float> cos, ArrayView<float> sin,
        int rows, int heads, int headDim) =>
        Rotate(dx, positions, cos, sin, rows, heads, headDim, headDim / 2);

    /// <summary>Rotates pairs (first, second) of each head; <paramref name="swap"/> = headDim/2 swaps the halves.</summary>
    private static void Rotate(ArrayView<float> x, ArrayView<int> positions, ArrayView<float> cos, ArrayView<float> sin,
        int rows, int heads, int headDim, int swap)
    {
        var half = headDim / 2;
        var total = (long)rows * heads * half;
        for (var i = GpuGroup.GlobalIndex; i < total; i += GpuGroup.GlobalStride)
        {
            var rowHead = i / half;
            var pair = i - rowHead * half;
            var first = rowHead * headDim + pair + swap;
            var second = rowHead * headDim + pair + half - swap;
            var angle = (long)positions[rowHead / heads] * half + pair;
            float a = x[first], b = x[second], c = cos[angle], s = sin[angle];
            x[first] = a * c - b * s;
            x[second] = b * c + a * s;
        }
    }
}
