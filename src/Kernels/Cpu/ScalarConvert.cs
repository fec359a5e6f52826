using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Dromedary.Kernels;

/// <summary>
/// Converts stored element types to fp32 and back. Files are little-endian and so are the hosts .NET runs
/// Dromedary on, so F32 is a plain byte copy. F16 and BF16 widen exactly; narrowing rounds to nearest, ties to
/// even, as PyTorch does, so a written checkpoint reads back as the same model.
/// </summary>
public static class ScalarConvert
{
    public static void ToFloat(ReadOnlySpan<byte> source, ScalarType type, Span<float> destination)
    {
        CheckLengths(source.Length, type, destination.Length);
        switch (type)
        {
            case ScalarType.F32:
                source.CopyTo(MemoryMarshal.AsBytes(destination));
                break;
            case ScalarType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case ScalarType.BF16:
                Bf16ToFloat(MemoryMarshal.Cast<byte, ushort>(source), MemoryMarshal.Cast<float, uint>(destination));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "only F32, F16 and BF16 convert to fp32");
        }
    }

    public static void FromFloat(ReadOnlySpan<float> source, ScalarType type, Span<byte> destination)
    {
        CheckLengths(destination.Length, type, source.Length);
        switch (type)
        {
            case ScalarType.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case ScalarType.F16:
                TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case ScalarType.BF16:
                FloatToBf16(MemoryMarshal.Cast<float, uint>(source), MemoryMarshal.Cast<byte, ushort>(destination));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "only F32, F16 and BF16 convert from fp32");
        }
    }

    private static void CheckLengths(int bytes, ScalarType type, int floats)
    {
        if (bytes != (long)floats * type.SizeOf())
            throw new ArgumentException($"{bytes} bytes of {type} do not hold {floats} values");
    }

    /// <summary>A bfloat16 is the top half of a float: widening is a 16-bit shift, exact for every value.</summary>
    private static void Bf16ToFloat(ReadOnlySpan<ushort> source, Span<uint> destination)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= source.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector.Widen(new Vector<ushort>(source[i..]), out var low, out var high);
                Vector.ShiftLeft(low, 16).CopyTo(destination[i..]);
                Vector.ShiftLeft(high, 16).CopyTo(destination[(i + Vector<uint>.Count)..]);
            }
        }
        for (; i < source.Length; i++) destination[i] = (uint)source[i] << 16;
    }

    private static void FloatToBf16(ReadOnlySpan<uint> source, Span<ushort> destination)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= source.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                var low = RoundToBf16(new Vector<uint>(source[i..]));
                var high = RoundToBf16(new Vector<uint>(source[(i + Vector<uint>.Count)..]));
                Vector.Narrow(low, high).CopyTo(destination[i..]);
            }
        }
        for (; i < source.Length; i++) destination[i] = RoundToBf16(source[i]);
    }

    /// <summary>
    /// Adds 0x7FFF plus the lowest kept bit, so the carry rounds half to even; overflow carries into the exponent
    /// and correctly gives infinity. A NaN keeps its sign and top payload and is forced quiet, since a payload
    /// only in the dropped bits would otherwise truncate to infinity.
    /// </summary>
    private static ushort RoundToBf16(uint bits)
    {
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((bits >> 16) | 0x0040);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary><see cref="RoundToBf16(uint)"/> on each lane, leaving the result in the low 16 bits.</summary>
    private static Vector<uint> RoundToBf16(Vector<uint> bits)
    {
        var rounded = Vector.ShiftRightLogical(bits + new Vector<uint>(0x7FFF) + (Vector.ShiftRightLogical(bits, 16) & Vector<uint>.One), 16);
        var quietNan = Vector.ShiftRightLogical(bits, 16) | new Vector<uint>(0x0040);
        var isNan = Vector.GreaterThan(bits & new Vector<uint>(0x7FFF_FFFF), new Vector<uint>(0x7F80_0000));
        return Vector.ConditionalSelect(isNan, quietNan, rounded);
    }
}
