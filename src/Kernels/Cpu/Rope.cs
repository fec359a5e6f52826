using System.Numerics;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// cos and sin of every (position, frequency) pair, [maxPositions, headDim/2]. inv_freq[i] = 1/theta^(2i/headDim)
/// is computed in double and rounded to float, like Hugging Face's fp32 inv_freq; the angle pos·inv_freq and its
/// cos/sin are then computed in double and rounded once, where Hugging Face rounds the angle to fp32 first. The
/// tables are therefore at least as exact as Hugging Face's; the two differ by at most ~1e-4 at positions in the
/// thousands, the size of one fp32 ulp of the angle.
/// </summary>
public sealed class CpuRopeTable : RopeTable
{
    private readonly float[] _cos;
    private readonly float[] _sin;

    public CpuRopeTable(int headDim, double theta, int maxPositions) : base(headDim, maxPositions)
    {
        if (headDim < 2 || headDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "head dimension must be even");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPositions, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(theta);
        var half = headDim / 2;
        _cos = new float[(long)maxPositions * half];
        _sin = new float[_cos.Length];
        for (var i = 0; i < half; i++)
        {
            double invFreq = (float)(1.0 / Math.Pow(theta, 2.0 * i / headDim));
            for (var pos = 0; pos < maxPositions; pos++)
            {
                var angle = pos * invFreq;
                _cos[pos * half + i] = (float)Math.Cos(angle);
                _sin[pos * half + i] = (float)Math.Sin(angle);
            }
        }
    }

    public ReadOnlySpan<float> Cos(int position) => _cos.AsSpan(Row(position), HeadDim / 2);

    public ReadOnlySpan<float> Sin(int position) => _sin.AsSpan(Row(position), HeadDim / 2);

    private int Row(int position)
    {
        if ((uint)position >= (uint)MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(position), position, $"position {position} is beyond the rope table's {MaxPositions} positions");
        return position * (HeadDim / 2);
    }

    /// <summary>Managed arrays: nothing to free.</summary>
    public override void Dispose() { }
}

/// <summary>Rotary position embedding in Hugging Face's rotate-half layout: dimension i pairs with i + headDim/2.</summary>
public static class CpuRope
{
    /// <param name="x">[rows, heads·headDim], rotated in place; row r sits at positions[r].</param>
    public static void Apply(Span<float> x, int rows, int heads, int headDim, ReadOnlySpan<int> positions, CpuRopeTable table) =>
        RotateHeads(x, rows, heads, headDim, positions, table, inverse: false);

    /// <summary>
    /// The gradient through <see cref="Apply"/>: a rotation's transpose is the rotation by −angle, and rotating the
    /// pair (second, first) by +angle is exactly that, so the forward loop runs with the halves swapped.
    /// </summary>
    /// <param name="dx">[rows, heads·headDim], the gradient of Apply's output, turned into that of its input in place.</param>
    public static void ApplyBackward(Span<float> dx, int rows, int heads, int headDim, ReadOnlySpan<int> positions, CpuRopeTable table) =>
        RotateHeads(dx, rows, heads, headDim, positions, table, inverse: true);

    private static void RotateHeads(Span<float> x, int rows, int heads, int headDim, ReadOnlySpan<int> positions, CpuRopeTable table,
        bool inverse)
    {
        if (headDim != table.HeadDim) throw new ArgumentException($"head dimension {headDim} does not match the rope table's {table.HeadDim}");
        if (positions.Length < rows) throw new ArgumentException($"{positions.Length} positions for {rows} rows");
        var width = heads * headDim;
        if (x.Length < (long)rows * width) throw new ArgumentException($"x must hold {rows}×{width} values");
        var half = headDim / 2;
        for (var r = 0; r < rows; r++)
        {
            var cos = table.Cos(positions[r]);
            var sin = table.Sin(positions[r]);
            for (var h = 0; h < heads; h++)
            {
                var head = x.Slice(r * width + h * headDim, headDim);
                if (inverse) Rotate(head[half..], head[..half], cos, sin);
                else Rotate(head[..half], head[half..], cos, sin);
            }
        }
    }

    private static void Rotate(Span<float> first, Span<float> second, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        var i = 0;
        for (; i <= first.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var a = new Vector<float>(first[i..]);
            var b = new Vector<float>(second[i..]);
            var c = new Vector<float>(cos[i..]);
            var s = new Vector<float>(sin[i..]);
            (a * c - b * s).CopyTo(first[i..]);
            (b * c + a * s).CopyTo(second[i..]);
        }
        for (; i < first.Length; i++)
        {
            var a = first[i];
            var b = second[i];
            first[i] = a * cos[i] - b * sin[i];
            second[i] = b * cos[i] + a * sin[i];
        }
    }
}
