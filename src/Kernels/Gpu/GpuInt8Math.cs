using ILGPU.Runtime.Cuda;

namespace Dromedary.Kernels.Gpu;

/// <summary>Four ints: a 16-byte vector load or store, or four int32 accumulators.</summary>
internal struct Int4(int x, int y, int z, int w)
{
    public int X = x, Y = y, Z = z, W = w;
}

/// <summary>Four fp32 accumulators.</summary>
internal struct Float4
{
    public float X, Y, Z, W;
}

/// <summary>
/// Device arithmetic of the int8 kernels, bit-exact on CUDA (inline PTX) and on ILGPU's CPU accelerator (plain
/// .NET) alike. The CPU branches are compiled into the PTX as well, and ptxas drops them (the guard is a constant
/// there), so they must not call anything ILGPU cannot translate (MathF.FusedMultiplyAdd would become an
/// unresolved <c>.extern .func</c>).
/// </summary>
internal static class GpuInt8Math
{
    /// <summary>The quantization block: activations get one scale per row per 128 input columns.</summary>
    public const int Block = 128;

    /// <summary>acc + the dot product of the 4 signed bytes of a and of b (dp4a).</summary>
    public static int Dot4(int a, int b, int acc)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("dp4a.s32.s32 %0, %1, %2, %3;", out int result, a, b, acc);
            return result;
        }
        return acc + (sbyte)a * (sbyte)b + (sbyte)(a >> 8) * (sbyte)(b >> 8) + (sbyte)(a >> 16) * (sbyte)(b >> 16) +
            (a >> 24) * (b >> 24);
    }

    /// <summary>acc + the dot product of 16 signed bytes.</summary>
    public static int Dot16(Int4 a, Int4 b, int acc) => Dot4(a.W, b.W, Dot4(a.Z, b.Z, Dot4(a.Y, b.Y, Dot4(a.X, b.X, acc))));

    /// <summary>
    /// acc + sum · scale rounded once, as the CPU kernel's fold: ILGPU has no fma intrinsic (and would let ptxas
    /// contract or not a plain a·b + c), so CUDA gets fma.rn.f32 and the CPU accelerator an exact emulation.
    /// </summary>
    public static float Fold(int sum, float scale, float acc)
    {
        var product = (float)sum;
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("fma.rn.f32 %0, %1, %2, %3;", out float result, product, scale, acc);
            return result;
        }
        return SoftFma(product, scale, acc);
    }

    /// <summary>
    /// fma(a, b, c) in double arithmetic: a·b is exact in double; the sum is rounded to odd (its TwoSum error
    /// decides the last bit), and rounding to odd at 53 bits then to nearest at 24 is correctly rounded
    /// (Boldo and Melquiond, 2008).
    /// </summary>
    private static float SoftFma(float a, float b, float c)
    {
        double p = (double)a * b, s = p + c;
        double t = s - p, error = (p - (s - t)) + (c - t);
        var bits = BitConverter.DoubleToInt64Bits(s);
        if (error != 0 && (bits & 1) == 0) bits += (error > 0) == (s > 0) ? 1 : -1;
        return (float)BitConverter.Int64BitsToDouble(bits);
    }

    /// <summary>Four int8 levels in one int, the first in the lowest byte (memory order).</summary>
    public static int Pack(int q0, int q1, int q2, int q3) =>
        (q0 & 0xFF) | ((q1 & 0xFF) << 8) | ((q2 & 0xFF) << 16) | (q3 << 24);
}
