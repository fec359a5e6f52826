using System.Numerics;
using System.Numerics.Tensors;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// The global L2 norm of all trainable gradients, and clipping to a maximum norm as
/// torch.nn.utils.clip_grad_norm_ does it. Add each tensor's gradient, read <see cref="Value"/>, then scale every
/// gradient by <see cref="ClipCoefficient"/>. Squares are summed in double: a 65B adapter has ~10⁸ values, and an
/// fp32 sum of that many loses digits.
/// </summary>
public sealed class GradientNorm
{
    private double _sumOfSquares;

    /// <summary>Adds one tensor's gradient to the norm.</summary>
    public void Add(ReadOnlySpan<float> gradient) => _sumOfSquares += SumOfSquares(gradient);

    /// <summary>√Σg² over every gradient added so far.</summary>
    public double Value => Math.Sqrt(_sumOfSquares);

    /// <summary>Σx², each square and the sum in double (a float square is exact in double).</summary>
    public static double SumOfSquares(ReadOnlySpan<float> values)
    {
        var low = Vector<double>.Zero;
        var high = Vector<double>.Zero;
        var i = 0;
        for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector.Widen(new Vector<float>(values[i..]), out var a, out var b);
            low += a * a;
            high += b * b;
        }
        var sum = Vector.Sum(low + high);
        for (; i < values.Length; i++) sum += (double)values[i] * values[i];
        return sum;
    }

    /// <summary>
    /// torch's factor: min(1, maxNorm / (norm + 1e-6)). It is below 1 once the norm exceeds the maximum (the 1e-6
    /// keeps a zero norm finite). A NaN norm gives NaN and an infinite one 0, as in torch: check the norm first.
    /// </summary>
    public static double ClipCoefficient(double norm, double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "the maximum norm must be > 0");
        return Math.Min(1, maxNorm / (norm + 1e-6));
    }

    /// <summary>gradient ← gradient · coefficient, in place.</summary>
    public static void Scale(Span<float> gradient, double coefficient) =>
        TensorPrimitives.Multiply(gradient, (float)coefficient, gradient);
}
