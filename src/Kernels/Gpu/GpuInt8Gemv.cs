using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// One activation row × the weight (decode), memory-bound: one warp per output, streaming its weight row with
/// 16-byte loads, so a warp step reads 512 contiguous bytes = four 128-column blocks, eight lanes each. Each
/// block's exact int32 sum is an eight-lane shuffle reduction; the four sums are then broadcast and folded into
/// the fp32 accumulator in block order, as on the CPU.
/// </summary>
internal static class GpuInt8Gemv
{
    public const int WarpsPerGroup = 4;

    // Int4 (16-byte) loads per 128-column block.
    private const int LoadsPerBlock = GpuInt8Math.Block / 16;

    public static KernelConfig Config(int outRows) => new((outRows + WarpsPerGroup - 1) / WarpsPerGroup, WarpsPerGroup * 32);

    /// <param name="x">The quantized row: [blocks · 32] ints.</param>
    /// <param name="xScales">[blocks].</param>
    /// <param name="w">[≥ outRows, blocks · 32] ints.</param>
    /// <param name="wScales">[≥ outRows, groups].</param>
    /// <param name="y">[outRows].</param>
    public static void Kernel(ArrayView<int> x, ArrayView<float> xScales, ArrayView<int> w, ArrayView<float> wScales,
        ArrayView<float> y, int outRows, int blocks, int groups, int blocksPerGroup)
    {
        var n = Grid.IdxX * WarpsPerGroup + Warp.WarpIdx;
        if (n >= outRows) return; // uniform per warp
        int lane = Warp.LaneIdx, part = lane / LoadsPerBlock, slot = lane % LoadsPerBlock;
        var x16 = x.Cast<Int4>().AsAligned(16);
        var w16 = w.Cast<Int4>().AsAligned(16);
        var row = (long)n * blocks * LoadsPerBlock;
        var acc = 0f;
        for (var first = 0; first < blocks; first += 4)
        {
            var block = first + part;
            var sum = 0;
            if (block < blocks)
            {
                var offset = block * LoadsPerBlock + slot;
                sum = GpuInt8Math.Dot16(w16[row + offset], x16[offset], 0);
            }
            sum += Warp.ShuffleXor(sum, 4);
            sum += Warp.ShuffleXor(sum, 2);
            sum += Warp.ShuffleXor(sum, 1);
            // Lanes 8p .. 8p + 7 now hold block first + p's sum.
            acc = Fold(acc, Warp.Shuffle(sum, 0), first, n, xScales, wScales, groups, blocksPerGroup);
            var s1 = Warp.Shuffle(sum, 8);
            var s2 = Warp.Shuffle(sum, 16);
            var s3 = Warp.Shuffle(sum, 24);
            if (first + 1 < blocks) acc = Fold(acc, s1, first + 1, n, xScales, wScales, groups, blocksPerGroup);
            if (first + 2 < blocks) acc = Fold(acc, s2, first + 2, n, xScales, wScales, groups, blocksPerGroup);
            if (first + 3 < blocks) acc = Fold(acc, s3, first + 3, n, xScales, wScales, groups, blocksPerGroup);
        }
        if (lane == 0) y[n] = acc;
    }

    private static float Fold(float acc, int sum, int block, int n, ArrayView<float> xScales, ArrayView<float> wScales,
        int groups, int blocksPerGroup) =>
        GpuInt8Math.Fold(sum, xScales[block] * wScales[(long)n * groups + block / blocksPerGroup], acc);
}
