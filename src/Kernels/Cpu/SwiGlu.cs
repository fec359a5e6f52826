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
}
