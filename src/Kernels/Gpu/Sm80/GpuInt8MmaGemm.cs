using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// Tensor-core int8 GEMM for sm_80+ through inline PTX: <c>mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32</c>
/// fed by <c>ldmatrix</c> from shared memory. A group of 4 warps computes a 64 × 64 output tile, each warp
/// 32 × 32 (2 × 4 mma tiles). Per 128-column block, the activation and weight tiles are staged in shared memory
/// (rows 144 bytes apart, so the 8 row addresses of each ldmatrix hit distinct banks), the block's four k-steps of
/// 32 accumulate exact int32 sums in the mma fragments, and each sum is folded into its fp32 accumulator with the
/// scales, as on the CPU. The next block's tiles are loaded into registers while this one computes. CUDA only:
/// on other accelerators the kernel returns at once. Activations and weights must be padded to 64 rows.
/// </summary>
internal static class GpuInt8MmaGemm
{
    public const int TileRows = 64;
    public const int TileCols = 64;
    public const int Threads = 128;

    // Shared memory: the activation tile, then the weight tile, 64 rows of 128 bytes each, rows 144 bytes apart.
    private const int RowBytes = GpuInt8Math.Block + 16;
    private const int RowVectors = RowBytes / 16;
    private const int WeightBytes = TileRows * RowBytes;
    private const int SharedVectors = (TileRows + TileCols) * RowVectors;

    // 16-byte loads per block row.
    private const int BlockVectors = GpuInt8Math.Block / 16;

    public static KernelConfig Config(int rows, int outRows) =>
        new((rows + TileRows - 1) / TileRows * ((outRows + TileCols - 1) / TileCols), Threads,
            SharedMemoryConfig.RequestDynamic<Int4>(SharedVectors));

    public static void Kernel(ArrayView<int> x, ArrayView<float> xScales, ArrayView<int> w, ArrayView<float> wScales,
        ArrayView<float> y, int rows, int outRows, int blocks, int groups, int blocksPerGroup)
    {
        if (!CudaAsm.IsSupported) return;
        var shared = SharedMemory.GetDynamic<Int4>();
        var x16 = x.Cast<Int4>().AsAligned(16);
        var w16 = w.Cast<Int4>().AsAligned(16);
        var tilesN = (outRows + TileCols - 1) / TileCols;
        int m0 = Grid.IdxX / tilesN * TileRows, n0 = Grid.IdxX % tilesN * TileCols;
        int t = Group.IdxX, warp = Warp.WarpIdx, lane = Warp.LaneIdx;
        int wm = warp / 2 * 32, wn = warp % 2 * 32;
        var rowVectors = (long)blocks * BlockVectors;

        // This thread's share of a tile: vectors t + 128i, i < 4, i.e. row t / 8 + 16i, vector t % 8 of the row.
        int loadRow = t / BlockVectors, loadVector = t % BlockVectors, storeAt = loadRow * RowVectors + loadVector;
        var xAt = (m0 + loadRow) * rowVectors + loadVector;
        var wAt = (n0 + loadRow) * rowVectors + loadVector;
        const int Step = Threads / BlockVectors;
        var rowStep = Step * rowVectors;

        // ldmatrix row addresses. A (16 × 32 per mma): lanes 0-15 give rows 0-15 at k 0, lanes 16-31 at k 16,
        // so the four 8 × 16-byte matrices land in a0..a3 as mma's A fragment wants. B: lanes 8q .. 8q + 7 give
        // matrix q = (n tile q / 2, k half q % 2), i.e. b0, b1 of one n tile, then b0, b1 of the next.
        var aAddress = (wm + lane % 16) * RowBytes + lane / 16 * 16;
        var bAddress = WeightBytes + (wn + lane / 16 * 8 + lane % 8) * RowBytes + lane / 8 % 2 * 16;

        var xv0 = x16[xAt]; var xv1 = x16[xAt + rowStep]; var xv2 = x16[xAt + 2 * rowStep]; var xv3 = x16[xAt + 3 * rowStep];
        var wv0 = w16[wAt]; var wv1 = w16[wAt + rowStep]; var wv2 = w16[wAt + 2 * rowStep]; var wv3 = w16[wAt + 3 * rowStep];

        Float4 f00 = default, f01 = default, f02 = default, f03 = default;
        Float4 f10 = default, f11 = default, f12 = default, f13 = default;
        for (var b = 0; b < blocks; b++)
        {
            Group.Barrier(); // the previous block's tiles are no longer read
            shared[storeAt] = xv0;
            shared[storeAt + Step * RowVectors] = xv1;
            shared[storeAt + 2 * Step * RowVectors] = xv2;
            shared[storeAt + 3 * Step * RowVectors] = xv3;
            var wStore = storeAt + TileRows * RowVectors;
            shared[wStore] = wv0;
            shared[wStore + Step * RowVectors] = wv1;
            shared[wStore + 2 * Step * RowVectors] = wv2;
            shared[wStore + 3 * Step * RowVectors] = wv3;
            Group.Barrier();
            if (b + 1 < blocks)
            {
                var next = (b + 1) * BlockVectors;
                xv0 = x16[xAt + next]; xv1 = x16[xAt + next + rowStep]; xv2 = x16[xAt + next + 2 * rowStep]; xv3 = x16[xAt + next + 3 * rowStep];
                wv0 = w16[wAt + next]; wv1 = w16[wAt + next + rowStep]; wv2 = w16[wAt + next + 2 * rowStep]; wv3 = w16[wAt + next + 3 * rowStep];
            }

            Int4 c00 = default, c01 = default, c02 = default, c03 = default;
            Int4 c10 = default, c11 = default, c12 = default, c13 = default;
            for (var k = 0; k < GpuInt8Math.Block; k += 32)
            {
                var a0 = LoadMatrices(aAddress + k);
                var a1 = LoadMatrices(aAddress + 16 * RowBytes + k);
                var b01 = LoadMatrices(bAddress + k);
                var b23 = LoadMatrices(bAddress + 16 * RowBytes + k);
                c00 = Mma(c00, a0, b01.X, b01.Y);
                c01 = Mma(c01, a0, b01.Z, b01.W);
                c02 = Mma(c02, a0, b23.X, b23.Y);
                c03 = Mma(c03, a0, b23.Z, b23.W);
                c10 = Mma(c10, a1, b01.X, b01.Y);
                c11 = Mma(c11, a1, b01.Z, b01.W);
                c12 = Mma(c12, a1, b23.X, b23.Y);
                c13 = Mma(c13, a1, b23.Z, b23.W);
            }

            // Fragment element (i, j) of mma tile (mi, ni): row wm + 16mi + lane / 4 + 8i, column wn + 8ni + 2(lane % 4) + j.
            long row = m0 + wm + lane / 4, col = n0 + wn + lane % 4 * 2, g = b / blocksPerGroup;
            float xs0 = xScales[row * blocks + b], xs1 = xScales[(row + 8) * blocks + b];
            float xs2 = xScales[(row + 16) * blocks + b], xs3 = xScales[(row + 24) * blocks + b];
            float ws0 = wScales[col * groups + g], ws1 = wScales[(col + 1) * groups + g];
            float ws2 = wScales[(col + 8) * groups + g], ws3 = wScales[(col + 9) * groups + g];
            float ws4 = wScales[(col + 16) * groups + g], ws5 = wScales[(col + 17) * groups + g];
            float ws6 = wScales[(col + 24) * groups + g], ws7 = wScales[(col + 25) * groups + g];
            f00 = Fold(f00, c00, xs0, xs1, ws0, ws1);
            f01 = Fold(f01, c01, xs0, xs1, ws2, ws3);
            f02 = Fold(f02, c02, xs0, xs1, ws4, ws5);
            f03 = Fold(f03, c03, xs0, xs1, ws6, ws7);
            f10 = Fold(f10, c10, xs2, xs3, ws0, ws1);
            f11 = Fold(f11, c11, xs2, xs3, ws2, ws3);
            f12 = Fold(f12, c12, xs2, xs3, ws4, ws5);
            f13 = Fold(f13, c13, xs2, xs3, ws6, ws7);
        }

        int top = m0 + wm + lane / 4, left = n0 + wn + lane % 4 * 2;
        Store(y, f00, top, left, rows, outRows);
        Store(y, f01, top, left + 8, rows, outRows);
        Store(y, f02, top, left + 16, rows, outRows);
        Store(y, f03, top, left + 24, rows, outRows);
        Store(y, f10, top + 16, left, rows, outRows);
        Store(y, f11, top + 16, left + 8, rows, outRows);
        Store(y, f12, top + 16, left + 16, rows, outRows);
        Store(y, f13, top + 16, left + 24, rows, outRows);
    }

    /// <summary>ldmatrix .x4 from the dynamic shared memory at this lane's byte offset.</summary>
    private static Int4 LoadMatrices(int byteOffset)
    {
        Output<int> r0 = default, r1 = default, r2 = default, r3 = default;
        Input<int> offset = byteOffset;
        CudaAsm.EmitRef(
            "{ .reg .u32 sa; mov.u32 sa, __dyn_shared_alloca; add.u32 sa, sa, %4; " +
            "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [sa]; }",
            ref r0, ref r1, ref r2, ref r3, ref offset);
        return new Int4(r0.Value, r1.Value, r2.Value, r3.Value);
    }

    /// <summary>c + A (16 × 32, row) · B (32 × 8, col) in exact int32.</summary>
    private static Int4 Mma(Int4 c, Int4 a, int b0, int b1)
    {
        Ref<int> d0 = c.X, d1 = c.Y, d2 = c.Z, d3 = c.W;
        Input<int> a0 = a.X, a1 = a.Y, a2 = a.Z, a3 = a.W, e0 = b0, e1 = b1;
        CudaAsm.EmitRef(
            "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};",
            ref d0, ref d1, ref d2, ref d3, ref a0, ref a1, ref a2, ref a3, ref e0, ref e1);
        return new Int4(d0.Value, d1.Value, d2.Value, d3.Value);
    }

    /// <summary>Folds a fragment: X, Y on the top row (scale top), Z, W eight rows below; X, Z in the left column.</summary>
    private static Float4 Fold(Float4 f, Int4 c, float top, float bottom, float left, float right) => new()
    {
        X = GpuInt8Math.Fold(c.X, top * left, f.X),
        Y = GpuInt8Math.Fold(c.Y, top * right, f.Y),
        Z = GpuInt8Math.Fold(c.Z, bottom * left, f.Z),
        W = GpuInt8Math.Fold(c.W, bottom * right, f.W),
    };

    private static void Store(ArrayView<float> y, Float4 f, int top, int left, int rows, int outRows)
    {
        if (left >= outRows) return;
        var right = left + 1 < outRows;
        if (top < rows)
        {
            y[(long)top * outRows + left] = f.X;
            if (right) y[(long)top * outRows + left + 1] = f.Y;
        }
        if (top + 8 < rows)
        {
            y[(long)(top + 8) * outRows + left] = f.Z;
            if (right) y[(long)(top + 8) * outRows + left + 1] = f.W;
        }
    }
}
