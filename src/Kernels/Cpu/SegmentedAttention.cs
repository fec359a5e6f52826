namespace Dromedary.Kernels.Cpu;

/// <summary>
/// Causal attention over a block of packed sequences (a training micro-batch, concatenated without padding): a
/// token attends to the tokens of its own sequence up to itself, never to another sequence's. Each sequence is one
/// call of <see cref="CpuAttention"/> on its rows, positions from 0, so a sequence in a block gets exactly the
/// values it gets on its own.
/// </summary>
public static class CpuSegmentedAttention
{
    /// <param name="q">[tokens, heads·headDim], the block's queries.</param>
    /// <param name="keys">[tokens (or more), kvHeads·headDim], the block's keys; likewise <paramref name="values"/>.</param>
    /// <param name="bounds">Sequence s is rows bounds[s] .. bounds[s + 1] − 1; bounds[0] is 0, the last entry the block's tokens.</param>
    /// <param name="output">[tokens, heads·headDim].</param>
    public static void Forward(CpuAttention attention, ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        ReadOnlySpan<int> bounds, int heads, int kvHeads, int headDim, Span<float> output)
    {
        int width = heads * headDim, kvWidth = kvHeads * headDim;
        CheckBounds(bounds);
        for (var s = 0; s + 1 < bounds.Length; s++)
        {
            var (start, rows) = (bounds[s], bounds[s + 1] - bounds[s]);
            if (rows == 0) continue;
            // From the sequence's start to the buffers' end: the kernel sizes its scratch once, by the first (largest) span.
            attention.Forward(q[(start * width)..], keys[(start * kvWidth)..], values[(start * kvWidth)..], rows, 0, heads, kvHeads, headDim,
                output[(start * width)..]);
        }
    }

    /// <summary>The gradients through <see cref="Forward"/>: each sequence's <see cref="CpuAttention.Backward"/> on its own rows.</summary>
    /// <param name="dKeys">[tokens (or more), kvHeads·headDim]: the block's rows are overwritten; likewise <paramref name="dValues"/>.</param>
    public static void Backward(CpuAttention attention, ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        ReadOnlySpan<int> bounds, int heads, int kvHeads, int headDim, ReadOnlySpan<float> dOutput, Span<float> dQ, Span<float> dKeys,
        Span<float> dValues)
    {
        int width = heads * headDim, kvWidth = kvHeads * headDim;
        CheckBounds(bounds);
        for (var s = 0; s + 1 < bounds.Length; s++)
        {
            var (start, rows) = (bounds[s], bounds[s + 1] - bounds[s]);
            if (rows == 0) continue;
            attention.Backward(q[(start * width)..], keys[(start * kvWidth)..], values[(start * kvWidth)..], rows, 0, heads, kvHeads, headDim,
                dOutput[(start * width)..], dQ[(start * width)..], dKeys[(start * kvWidth)..], dValues[(start * kvWidth)..]);
        }
    }

    /// <summary>Bounds start at 0 and never decrease; at least one entry.</summary>
    internal static void CheckBounds(ReadOnlySpan<int> bounds)
    {
        if (bounds.IsEmpty || bounds[0] != 0) throw new ArgumentException("sequence bounds start at 0", nameof(bounds));
        for (var s = 1; s < bounds.Length; s++)
            if (bounds[s] < bounds[s - 1]) throw new ArgumentException($"sequence bounds decrease at {s}", nameof(bounds));
    }
}
