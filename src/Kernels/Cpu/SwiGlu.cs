using System.Numerics.Tensors;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// The LLaMA feed-forward gate: silu(g)·u with silu(g) = g·sigmoid(g) = g/(1 + exp(−g)). For g ≪ 0 exp(−g)
/// overflows to infinity and the quotient is a clean −0, never inf/inf.
/// </summary>
public static class CpuSwiGlu
{
    /// <summary>Block short enough for a stack buffer and L1, long enough to amortise the primitive calls.</summary>
    private const int Block = 512;

    /// <param name="output">may be the same span as gate or up.</param>
    public static void Forward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> output)
    {
        if (gate.Length != up.Length || gate.Length != output.Length)
            throw new ArgumentException($"gate ({gate.Length}), up ({up.Length}) and output ({output.Length}) must have equal length");
        Span<float> sigmoid = stackalloc float[Block];
        for (var start = 0; start < gate.Length; start += Block)
        {
            var length = Math.Min(Block, gate.Length - start);
            var g = gate.Slice(start, length);
            var s = sigmoid[..length];
            TensorPrimitives.Sigmoid(g, s);
            TensorPrimitives.Multiply(s, g, s);
            TensorPrimitives.Multiply(s, up.Slice(start, length), output.Slice(start, length));
        }
    }

    /// <summary>
    /// dUp = dOut·silu(g) and dGate = dOut·u·silu′(g) with silu′(g) = σ(g)·(1 + g·(1 − σ(g))). For g ≪ 0, σ
    /// underflows to 0 and the slope is 0·(finite); for g ≫ 0, 1 − σ is exactly 0 and the slope is 1: no inf·0.
    /// The rounding of 1 − σ costs at most ~g·6e-8 absolute, and only while σ &lt; 1, i.e. g &lt; ~17.
    /// </summary>
    /// <param name="dGate">may be the same span as any input; likewise <paramref name="dUp"/> (but not as dGate).</param>
    public static void Backward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, ReadOnlySpan<float> dOut, Span<float> dGate,
        Span<float> dUp)
    {
        var n = gate.Length;
        if (up.Length != n || dOut.Length != n || dGate.Length != n || dUp.Length != n)
            throw new ArgumentException($"gate ({n}), up ({up.Length}), dOut ({dOut.Length}), dGate ({dGate.Length}) and dUp ({dUp.Length}) must have equal length");
        Span<float> sigmoid = stackalloc float[Block];
        Span<float> slope = stackalloc float[Block];
        for (var start = 0; start < n; start += Block)
        {
            var length = Math.Min(Block, n - start);
            var g = gate.Slice(start, length);
            var d = dOut.Slice(start, length);
            var s = sigmoid[..length];
            var t = slope[..length];
            TensorPrimitives.Sigmoid(g, s);
            TensorPrimitives.Subtract(1f, s, t);
            TensorPrimitives.MultiplyAdd(g, t, 1f, t);
            TensorPrimitives.Multiply(t, s, t);
            TensorPrimitives.Multiply(t, up.Slice(start, length), t);
            TensorPrimitives.Multiply(t, d, t);
            // Every input of the block is read before either output is written, so outputs may alias inputs.
            TensorPrimitives.Multiply(s, g, s);
            TensorPrimitives.Multiply(s, d, dUp.Slice(start, length));
            t.CopyTo(dGate.Slice(start, length));
        }
    }
}
