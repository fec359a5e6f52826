using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// Activation quantization, exactly as the CPU int8 kernel does it: per row and block of 128 input columns
/// (zeros past the row's end), scale = absmax / 127 and q = round-half-to-even(x · (127 / absmax)); a block with
/// absmax below 1e-30 gets scale 0 and q 0. One warp per (row, block), four columns per lane, so the absmax is a
/// five-step warp reduction and each lane writes one int of four levels. Rows from <c>rows</c> up to
/// <c>paddedRows</c> are written as zeros so the GEMM tiles read them without bound checks.
/// </summary>
internal static class GpuInt8Quantize
{
    public const int WarpsPerGroup = 4;

    // 127 / absmax overflows below ~4e-37; such blocks quantize to zero (as on the CPU).
    private const float MinAbsMax = 1e-30f;

    public static KernelConfig Config(int paddedRows, int blocks)
    {
        var groups = ((long)paddedRows * blocks + WarpsPerGroup - 1) / WarpsPerGroup;
        return new KernelConfig(checked((int)groups), WarpsPerGroup * 32);
    }

    /// <param name="x">[rows, cols] fp32.</param>
    /// <param name="q">[paddedRows, blocks · 32]: four int8 levels per int.</param>
    /// <param name="scales">[paddedRows, blocks].</param>
    public static void Kernel(ArrayView<float> x, int rows, int cols, ArrayView<int> q, ArrayView<float> scales,
        int paddedRows, int blocks)
    {
        var task = (long)Grid.IdxX * WarpsPerGroup + Warp.WarpIdx;
        if (task >= (long)paddedRows * blocks) return; // uniform per warp: the shuffles below see whole warps
        int row = (int)(task / blocks), block = (int)(task % blocks), lane = Warp.LaneIdx;
        var column = block * GpuInt8Math.Block + lane * 4;
        float v0 = Load(x, rows, cols, row, column), v1 = Load(x, rows, cols, row, column + 1);
        float v2 = Load(x, rows, cols, row, column + 2), v3 = Load(x, rows, cols, row, column + 3);

        var absMax = MathF.Max(MathF.Max(MathF.Abs(v0), MathF.Abs(v1)), MathF.Max(MathF.Abs(v2), MathF.Abs(v3)));
        for (var mask = 16; mask > 0; mask >>= 1) absMax = MathF.Max(absMax, Warp.ShuffleXor(absMax, mask));

        int packed = 0;
        var scale = 0f;
        if (absMax >= MinAbsMax)
        {
            var inverse = 127f / absMax;
            packed = GpuInt8Math.Pack(Level(v0, inverse), Level(v1, inverse), Level(v2, inverse), Level(v3, inverse));
            scale = absMax / 127f;
        }
        q[task * 32 + lane] = packed;
        if (lane == 0) scales[task] = scale;
    }

    private static float Load(ArrayView<float> x, int rows, int cols, int row, int column) =>
        row < rows && column < cols ? x[(long)row * cols + column] : 0f;

    /// <summary>
    /// round-half-to-even(value · inverse). CUDA rounds with one cvt.rni. The CPU accelerator adds and subtracts
    /// 1.5 · 2^23, which rounds |x| &lt; 2^22 to an integer, halves to even (RyuJIT neither fuses nor reassociates);
    /// on CUDA that sum could be fused with the multiply, which rounds ties differently. MathF.Round is avoided:
    /// once any context in the process enables ILGPU's algorithms library, it is remapped to a function that
    /// contexts without the library cannot compile.
    /// </summary>
    private static int Level(float value, float inverse)
    {
        const float RoundingShift = 12582912f;
        var scaled = value * inverse;
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("cvt.rni.s32.f32 %0, %1;", out int level, scaled);
            return level;
        }
        return (int)(scaled + RoundingShift - RoundingShift);
    }
}
