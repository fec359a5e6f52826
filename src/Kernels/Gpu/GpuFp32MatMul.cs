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
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> _forward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> _multiply;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> _multiplyTransposedA;

    public GpuFp32MatMul(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(ForwardKernel);
        _multiply = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(MultiplyKernel);
        _multiplyTransposedA = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(MultiplyTransposedAKernel);
    }

    public void Forward(ArrayView<float> x, int rows, GpuFp32Weight w, ArrayView<float> y) =>
        MultiplyTransposedB(x, w.View, y, rows, w.Rows, w.Cols);

    /// <summary>dX[rows, w.Cols] = dY[rows, w.Rows] · W: the input gradient through a frozen fp32 weight.</summary>
    public void BackwardInput(ArrayView<float> dY, int rows, GpuFp32Weight w, ArrayView<float> dX) =>
        Multiply(dY, w.View, dX, rows, w.Cols, w.Rows);

    /// <summary>y[rows, outputs] = scale · x[rows, inputs] · wᵀ (+ y when accumulating), w row-major [outputs, inputs].</summary>
    public void MultiplyTransposedB(ArrayView<float> x, ArrayView<float> w, ArrayView<float> y, int rows, int outputs, int inputs,
        float scale = 1, bool accumulate = false) =>
        _forward(Launch(_accelerator, rows, outputs), x, w, y, new GemmShape(rows, inputs, outputs, scale, accumulate ? 1 : 0));

    /// <summary>
    /// y[rows, outputs] = scale · x[rows, inputs] · w (+ y when accumulating), w row-major [inputs, outputs]: the
    /// input gradient dX = dY · W through an fp32 weight [out, in] is this with inputs = out, outputs = in.
    /// </summary>
    public void Multiply(ArrayView<float> x, ArrayView<float> w, ArrayView<float> y, int rows, int outputs, int inputs,
        float scale = 1, bool accumulate = false) =>
        _multiply(Launch(_accelerator, rows, outputs), x, w, y, new GemmShape(rows, inputs, outputs, scale, accumulate ? 1 : 0));

    /// <summary>
    /// y[rows, outputs] = scale · xᵀ · w (+ y when accumulating) with x [inputs, rows] and w [inputs, outputs] row-major:
    /// a weight gradient, Σ over tokens of an outer product.
    /// </summary>
    public void MultiplyTransposedA(ArrayView<float> x, ArrayView<float> w, ArrayView<float> y, int rows, int outputs, int inputs,
        float scale = 1, bool accumulate = false) =>
        _multiplyTransposedA(Launch(_accelerator, rows, outputs), x, w, y, new GemmShape(rows, inputs, outputs, scale, accumulate ? 1 : 0));

    internal static KernelConfig Launch(Accelerator accelerator, int rows, int outputs) =>
        GpuGroup.Launch(accelerator, (long)((rows + TileRows - 1) / TileRows) * ((outputs + TileCols - 1) / TileCols));

    public static void ForwardKernel(ArrayView<float> x, ArrayView<float> w, ArrayView<float> y, GemmShape shape) =>
        Run(new Rows(x, shape.Inputs), new Rows(w, shape.Inputs), y, shape);

    public static void MultiplyKernel(ArrayView<float> x, ArrayView<float> w, ArrayView<float> y, GemmShape shape) =>
        Run(new Rows(x, shape.Inputs), new Columns(w, shape.Outputs), y, shape);

    public static void MultiplyTransposedAKernel(ArrayView<float> x, ArrayView<float> w, ArrayView<float> y, GemmShape shape) =>
        Run(new Columns(x, shape.Rows), new Columns(w, shape.Outputs), y, shape);

    /// <summary>
    /// The tiled product, whatever the operands' layouts: <typeparamref name="TX"/> reads element (row, k) of the left
    /// operand and <typeparamref name="TW"/> element (output, k) of the right one. Tiles go row-tile-fastest, so
    /// neighbouring groups share a weight tile, the larger operand. Loads are coalesced: consecutive threads read
    /// consecutive addresses, along k or along rows as the layout has them; out-of-range values load as zero.
    /// </summary>
    internal static void Run<TX, TW>(TX x, TW w, ArrayView<float> y, GemmShape shape)
        where TX : struct, IGemmOperand
        where TW : struct, IGemmOperand
    {
        var xTurns = SharedMemory.Allocate<float>(2 * TileRows * TileK);
        var wTurns = SharedMemory.Allocate<float>(2 * TileCols * WeightStride);
        int rows = shape.Rows, inputs = shape.Inputs, outputs = shape.Outputs;
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
                    var (r, k) = x.AlongK ? (e / TileK, e % TileK) : (e % TileRows, e / TileRows);
                    xTile[r * TileK + k] = row0 + r < rows && k0 + k < inputs ? x.Load(row0 + r, k0 + k) : 0f;
                }
                for (var e = Group.IdxX; e < TileCols * TileK; e += GpuGroup.Size)
                {
                    var (c, k) = w.AlongK ? (e / TileK, e % TileK) : (e % TileCols, e / TileCols);
                    wTile[c * WeightStride + k] = col0 + c < outputs && k0 + k < inputs ? w.Load(col0 + c, k0 + k) : 0f;
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
            sums.Store(y, row0 + rowSlot, col0 + outputSlot, shape);
        }
    }

    /// <summary>A row-major matrix whose rows are indexed by the tile's rows or outputs: element (i, k) at i·stride + k.</summary>
    internal readonly struct Rows(ArrayView<float> values, int stride) : IGemmOperand
    {
        public bool AlongK => true;

        public float Load(int i, int k) => values[(long)i * stride + k];
    }

    /// <summary>A row-major matrix read transposed: element (i, k) at k·stride + i.</summary>
    internal readonly struct Columns(ArrayView<float> values, int stride) : IGemmOperand
    {
        public bool AlongK => false;

        public float Load(int i, int k) => values[(long)k * stride + i];
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

        public readonly void Store(ArrayView<float> y, int row, int col, GemmShape shape)
        {
            if (row < shape.Rows) StoreRow(y, (long)row * shape.Outputs, col, shape, _a0, _a1, _a2, _a3);
            if (row + RowSlots < shape.Rows) StoreRow(y, (long)(row + RowSlots) * shape.Outputs, col, shape, _b0, _b1, _b2, _b3);
        }

        private static void StoreRow(ArrayView<float> y, long offset, int col, GemmShape shape, float v0, float v1, float v2, float v3)
        {
            Store(y, offset + col, col < shape.Outputs, v0, shape);
            Store(y, offset + col + OutputSlots, col + OutputSlots < shape.Outputs, v1, shape);
            Store(y, offset + col + 2 * OutputSlots, col + 2 * OutputSlots < shape.Outputs, v2, shape);
            Store(y, offset + col + 3 * OutputSlots, col + 3 * OutputSlots < shape.Outputs, v3, shape);
        }

        /// <summary>A plain product (scale 1, no accumulation) is stored as summed: the forward stays as it was.</summary>
        private static void Store(ArrayView<float> y, long at, bool inside, float value, GemmShape shape)
        {
            if (!inside) return;
            if (shape.Scale != 1f) value *= shape.Scale;
            y[at] = shape.Accumulate != 0 ? y[at] + value : value;
        }
    }
}

/// <summary>One operand of <see cref="GpuFp32MatMul.Run{TX, TW}"/>: how element (i, k) is read from its own layout.</summary>
internal interface IGemmOperand
{
    /// <summary>Whether consecutive k are adjacent in memory (then tiles are filled along k, else along i).</summary>
    bool AlongK { get; }

    float Load(int i, int k);
}

/// <summary>
/// y[Rows, Outputs] = Scale · Σ over Inputs of the operands' products, added to y when Accumulate is 1.
/// </summary>
public readonly record struct GemmShape(int Rows, int Inputs, int Outputs, float Scale, int Accumulate);
