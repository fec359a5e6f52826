using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// Generic SIMT int8 GEMM (CUDA and ILGPU's CPU accelerator): a group of 128 threads computes a 32 × 64 output
/// tile, each thread 4 rows × 4 columns (rows ty + 8i, columns tx + 16j: neighbouring threads read neighbouring
/// shared-memory rows, so the weight reads hit distinct banks and the activation reads are broadcasts). Per
/// 128-column block both tiles are staged in shared memory (rows padded to 33 ints against bank conflicts), the
/// 16 int32 sums run over the block with dp4a, and each is folded into its fp32 accumulator as on the CPU.
/// Each thread loads its share of a block's tiles with six 16-byte loads issued together.
/// Activations must be padded to a multiple of 32 rows and weights to a multiple of 64: loads are unchecked.
/// </summary>
internal static class GpuInt8SimtGemm
{
    public const int TileRows = 32;
    public const int TileCols = 64;
    public const int Threads = 128;

    // Ints and 16-byte vectors per 128-column block, and the padded shared-memory row stride in ints.
    private const int BlockInts = GpuInt8Math.Block / 4;
    private const int BlockVectors = GpuInt8Math.Block / 16;
    private const int Stride = BlockInts + 1;

    public static KernelConfig Config(int rows, int outRows) =>
        new((rows + TileRows - 1) / TileRows * ((outRows + TileCols - 1) / TileCols), Threads);

    public static void Kernel(ArrayView<int> x, ArrayView<float> xScales, ArrayView<int> w, ArrayView<float> wScales,
        ArrayView<float> y, int rows, int outRows, int blocks, int groups, int blocksPerGroup)
    {
        var xTile = SharedMemory.Allocate<int>(TileRows * Stride);
        var wTile = SharedMemory.Allocate<int>(TileCols * Stride);
        var x16 = x.Cast<Int4>().AsAligned(16);
        var w16 = w.Cast<Int4>().AsAligned(16);
        var tilesN = (outRows + TileCols - 1) / TileCols;
        int m0 = Grid.IdxX / tilesN * TileRows, n0 = Grid.IdxX % tilesN * TileCols;
        int t = Group.IdxX, tx = t % 16, ty = t / 16;

        // This thread's share of the tiles, 16-byte vectors: vector t % 8 of rows t / 8 + 16i (two activation
        // rows, four weight rows). All six loads are issued before the barrier, so their latencies overlap.
        int loadRow = t / BlockVectors, loadVector = t % BlockVectors;
        var rowVectors = (long)blocks * BlockVectors;
        var xAt = (m0 + loadRow) * rowVectors + loadVector;
        var wAt = (n0 + loadRow) * rowVectors + loadVector;
        var rowStep = Threads / BlockVectors * rowVectors;

        Float4 f0 = default, f1 = default, f2 = default, f3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var at = b * BlockVectors;
            Int4 x0 = x16[xAt + at], x1 = x16[xAt + rowStep + at];
            Int4 w0 = w16[wAt + at], w1 = w16[wAt + rowStep + at], w2 = w16[wAt + 2 * rowStep + at], w3 = w16[wAt + 3 * rowStep + at];
            Group.Barrier(); // the previous block's tiles are no longer read
            Put(xTile, loadRow, loadVector, x0);
            Put(xTile, loadRow + 16, loadVector, x1);
            Put(wTile, loadRow, loadVector, w0);
            Put(wTile, loadRow + 16, loadVector, w1);
            Put(wTile, loadRow + 32, loadVector, w2);
            Put(wTile, loadRow + 48, loadVector, w3);
            Group.Barrier();

            Int4 c0 = default, c1 = default, c2 = default, c3 = default;
            for (var k = 0; k < BlockInts; k++)
            {
                var wk = new Int4(wTile[tx * Stride + k], wTile[(tx + 16) * Stride + k], wTile[(tx + 32) * Stride + k],
                    wTile[(tx + 48) * Stride + k]);
                c0 = Dot(c0, xTile[ty * Stride + k], wk);
                c1 = Dot(c1, xTile[(ty + 8) * Stride + k], wk);
                c2 = Dot(c2, xTile[(ty + 16) * Stride + k], wk);
                c3 = Dot(c3, xTile[(ty + 24) * Stride + k], wk);
            }

            var g = b / blocksPerGroup;
            var ws = new Float4
            {
                X = wScales[(long)(n0 + tx) * groups + g], Y = wScales[(long)(n0 + tx + 16) * groups + g],
                Z = wScales[(long)(n0 + tx + 32) * groups + g], W = wScales[(long)(n0 + tx + 48) * groups + g],
            };
            f0 = Fold(f0, c0, xScales[(long)(m0 + ty) * blocks + b], ws);
            f1 = Fold(f1, c1, xScales[(long)(m0 + ty + 8) * blocks + b], ws);
            f2 = Fold(f2, c2, xScales[(long)(m0 + ty + 16) * blocks + b], ws);
            f3 = Fold(f3, c3, xScales[(long)(m0 + ty + 24) * blocks + b], ws);
        }
        Store(y, f0, m0 + ty, n0 + tx, rows, outRows);
        Store(y, f1, m0 + ty + 8, n0 + tx, rows, outRows);
        Store(y, f2, m0 + ty + 16, n0 + tx, rows, outRows);
        Store(y, f3, m0 + ty + 24, n0 + tx, rows, outRows);
    }

    /// <summary>Writes a 16-byte vector into a shared tile row (ints: the padded stride breaks 16-byte alignment).</summary>
    private static void Put(ArrayView<int> tile, int row, int vector, Int4 value)
    {
        var at = row * Stride + vector * 4;
        tile[at] = value.X;
        tile[at + 1] = value.Y;
        tile[at + 2] = value.Z;
        tile[at + 3] = value.W;
    }

    /// <summary>One activation word against the four weight columns' words.</summary>
    private static Int4 Dot(Int4 c, int a, Int4 w) =>
        new(GpuInt8Math.Dot4(a, w.X, c.X), GpuInt8Math.Dot4(a, w.Y, c.Y), GpuInt8Math.Dot4(a, w.Z, c.Z),
            GpuInt8Math.Dot4(a, w.W, c.W));

    private static Float4 Fold(Float4 f, Int4 c, float xScale, Float4 ws) => new()
    {
        X = GpuInt8Math.Fold(c.X, xScale * ws.X, f.X),
        Y = GpuInt8Math.Fold(c.Y, xScale * ws.Y, f.Y),
        Z = GpuInt8Math.Fold(c.Z, xScale * ws.Z, f.Z),
        W = GpuInt8Math.Fold(c.W, xScale * ws.W, f.W),
    };

    /// <summary>Writes one row's four outputs, at columns col, col + 16, col + 32, col + 48, inside the bounds.</summary>
    private static void Store(ArrayView<float> y, Float4 f, int row, int col, int rows, int outRows)
    {
        if (row >= rows) return;
        var start = (long)row * outRows;
        if (col < outRows) y[start + col] = f.X;
        if (col + 16 < outRows) y[start + col + 16] = f.Y;
        if (col + 32 < outRows) y[start + col + 32] = f.Z;
        if (col + 48 < outRows) y[start + col + 48] = f.W;
    }
}
