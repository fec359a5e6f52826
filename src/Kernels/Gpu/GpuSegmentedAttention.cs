using Dromedary.Kernels.Cpu;
using ILGPU;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// <see cref="CpuSegmentedAttention"/> on the device: causal attention over a block of packed sequences, a token
/// seeing only its own sequence's tokens up to itself. Each sequence is one <see cref="GpuAttention"/> launch on its
/// rows, positions from 0: a sequence of a block gets the values it gets on its own, and each launch still has a
/// (row, head) group per query (thousands for a training sequence), enough to fill a GPU.
/// </summary>
public static class GpuSegmentedAttention
{
    /// <param name="q">[tokens, heads·headDim], the block's queries.</param>
    /// <param name="keys">[tokens (or more), kvHeads·headDim]; likewise <paramref name="values"/>.</param>
    /// <param name="bounds">Sequence s is rows bounds[s] .. bounds[s + 1] − 1; bounds[0] is 0, the last entry the block's tokens.</param>
    public static void Forward(GpuAttention attention, ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values,
        ReadOnlySpan<int> bounds, int heads, int kvHeads, int headDim, ArrayView<float> output)
    {
        long width = heads * headDim, kvWidth = kvHeads * headDim;
        CpuSegmentedAttention.CheckBounds(bounds);
        for (var s = 0; s + 1 < bounds.Length; s++)
        {
            var (start, rows) = (bounds[s], bounds[s + 1] - bounds[s]);
            if (rows == 0) continue;
            attention.Forward(q.SubView(start * width), keys.SubView(start * kvWidth), values.SubView(start * kvWidth), rows, 0, heads, kvHeads,
                headDim, output.SubView(start * width));
        }
    }

    /// <summary>The gradients through <see cref="Forward"/>: each sequence's <see cref="GpuAttention.Backward"/> on its own rows.</summary>
    /// <param name="dKeys">[tokens (or more), kvHeads·headDim]: the block's rows are overwritten; likewise <paramref name="dValues"/>.</param>
    public static void Backward(GpuAttention attention, ArrayView<float> q, ArrayView<float> keys, ArrayView<float> values,
        ReadOnlySpan<int> bounds, int heads, int kvHeads, int headDim, ArrayView<float> dOutput, ArrayView<float> dQ, ArrayView<float> dKeys,
        ArrayView<float> dValues)
    {
        long width = heads * headDim, kvWidth = kvHeads * headDim;
        CpuSegmentedAttention.CheckBounds(bounds);
        for (var s = 0; s + 1 < bounds.Length; s++)
        {
            var (start, rows) = (bounds[s], bounds[s + 1] - bounds[s]);
            if (rows == 0) continue;
            attention.Backward(q.SubView(start * width), keys.SubView(start * kvWidth), values.SubView(start * kvWidth), rows, 0, heads, kvHeads,
                headDim, dOutput.SubView(start * width), dQ.SubView(start * width), dKeys.SubView(start * kvWidth), dValues.SubView(start * kvWidth));
        }
    }
}
