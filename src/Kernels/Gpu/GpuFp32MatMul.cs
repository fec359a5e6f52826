using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// y[rows, w.Rows] = x[rows, w.Cols] · Wᵀ in fp32, W row-major [out, in] as in the checkpoint. Each group
/// computes a tile of 16 rows × 64 outputs, stepping through the inputs 32 at a time through shared memory; each
/// thread keeps 2 rows × 4 outputs in registers. Sums run over the inputs in order, one product at a time.
/// Steps take turns with two pairs of shared tiles, so each step needs one barrier, not two.
/// </summary>
public sealed class GpuFp32MatMul
{
    private const int TileRows = 16;
    private const int TileCols = 64;
    private const int TileK = 32;

    /// <summary>Row stride of the weight tile: the 16 outputs a half-warp reads at one k fall in 16 different banks.</summary>
    private const int WeightStride = TileK + 1;

    /// <summary>Threads as 8 row slots × 16 output slots; a thread owns rows slot, slot + 8 and outputs slot + 16j.</summary>
    private const int OutputSlots = 16;

    private const int RowSlots = GpuGroup.Size / OutputSlots;

    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _forward;

    public GpuFp32MatMul(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(ForwardKernel);
    }

    public void Forward(ArrayView<float> x, int rows, GpuFp32Weight w, ArrayView<float> y)
    {
        var tiles = (long)((rows + TileRows - 1) / TileRows) * ((w.Rows + TileCols - 1) / TileCols);
        _forward(GpuGroup.Launch(_accelerator, tiles), x, w.View, y, rows, w.Cols, w.Rows);
    }

    /// <summary>
    /// Tiles go row-tile-fastest, so neighbouring groups share a weight tile, the larger operand. Loads are
    /// coalesced: consecutive threads read consecutive inputs of one row; out-of-range values load as zero.
    /// </summary>
    public static void ForwardKernel(ArrayView<float> x, ArrayView<float> w, ArrayView<float> y, int rows, int inputs, int outputs)
    {
        var xTurns = SharedMemory.Allocate<float>(2 * TileRows * TileK);
        var wTurns = SharedMemory.Allocate<float>(2 * TileCols * WeightStride);
        var turn = 0;
        var rowSlot = Group.IdxX / OutputSlots;
        var outputSlot = Group.IdxX % OutputSlots;
        var rowTiles = (rows + TileRows - 1) / TileRows;
        var tiles = (long)rowTiles * ((outputs + TileCols - 1) / TileCols);
        for (long tile = Grid.IdxX; tile < tiles; tile += Grid.DimX)
        {
            var row0 = (int)(tile % rowTiles) * TileRows;
            var col0 = (int)(tile / rowTiles) * TileCols;
            var sums = new TileSums();
            for (var k0 = 0; k0 < inputs; k0 += TileK, turn++)
            {
                // No barrier before filling: this pair was last read two steps ago, before the previous step's barrier.
                var xTile = GpuGroup.Turn(xTurns, turn);
                var wTile = GpuGroup.Turn(wTurns, turn);
                for (var e = Group.IdxX; e < TileRows * TileK; e += GpuGroup.Size)
                {
                    int r = row0 + e / TileK, k = k0 + e % TileK;
                    xTile[e] = r < rows && k < inputs ? x[(long)r * inputs + k] : 0f;
                }
                for (var e = Group.IdxX; e < TileCols * TileK; e += GpuGroup.Size)
                {
                    int c = col0 + e / TileK, k = k0 + e % TileK;
                    wTile[e / TileK * WeightStride + e % TileK] = c < outputs && k < inputs ? w[(long)c * inputs + k] : 0f;
                }
                Group.Barrier();
                for (var k = 0; k < TileK; k += 4)
                {
                    sums.Step(xTile, wTile, rowSlot, outputSlot, k);
                    sums.Step(xTile, wTile, rowSlot, outputSlot, k + 1);
                    sums.Step(xTile, wTile, rowSlot, outputSlot, k + 2);
                    sums.Step(xTile, wTile, rowSlot, outputSlot, k + 3);
                }
            }
            sums.Store(y, row0 + rowSlot, col0 + outputSlot, rows, outputs);
        }
    }

    /// <summary>One thread's 2 × 4 outputs, in registers.</summary>
    private struct TileSums
    {
        private float _a0, _a1, _a2, _a3, _b0, _b1, _b2, _b3;

        public void Step(ArrayView<float> xTile, ArrayView<float> wTile, int rowSlot, int outputSlot, int k)
        {
            var x0 = xTile[rowSlot * TileK + k];
            var x1 = xTile[(rowSlot + RowSlots) * TileK + k];
            var w0 = wTile[outputSlot * WeightStride + k];
            var w1 = wTile[(outputSlot + OutputSlots) * WeightStride + k];
            var w2 = wTile[(outputSlot + 2 * OutputSlots) * WeightStride + k];
            var w3 = wTile[(outputSlot + 3 * OutputSlots) * WeightStride + k];
            _a0 += x0 * w0;
            _a1 += x0 * w1;
            _a2 += x0 * w2;
            _a3 += x0 * w3;
            _b0 += x1 * w0;
            _b1 += x1 * w1;
            _b2 += x1 * w2;
            _b3 += x1 * w3;
        }

        public readonly void Store(ArrayView<float> y, int row, int col, int rows, int outputs)
        {
            if (row < rows) StoreRow(y, (long)row * outputs, col, outputs, _a0, _a1, _a2, _a3);
            if (row + RowSlots < rows) StoreRow(y, (long)(row + RowSlots) * outputs, col, outputs, _b0, _b1, _b2, _b3);
        }

        private static void StoreRow(ArrayView<float> y, long offset, int col, int outputs, float v0, float v1, float v2, float v3)
        {
            if (col < outputs) y[offset + col] = v0;
            if (col + OutputSlots < outputs) y[offset + col + OutputSlots] = v1;
            if (col + 2 * OutputSlots < outputs) y[offset + col + 2 * OutputSlots] = v2;
            if (col + 3 * OutputSlots < outputs) y[offset + col + 3 * OutputSlots] = v3;
        }
    }
}
