using System.Runtime.Intrinsics;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// y[rows, w.Rows] = x[rows, w.Cols] · Wᵀ in fp32 with fused multiply-adds. Prefill packs x into tiles of
/// rows interleaved per column and runs a register tile per (row tile, 16-column weight panel); decode streams
/// each panel once. Work is split over weight panels. One call at a time per instance: it owns the packing
/// scratch.
/// </summary>
public sealed unsafe class Fp32MatMul : IDisposable
{
    private const int PanelWidth = Fp32Weight.PanelWidth;

    // 8 rows × one 16-float vector: 8 FMA chains cover the 4-cycle latency at 2 per cycle.
    private const int TileRows512 = 8;

    // 6 rows × two 8-float vectors: 12 chains, in 15 of the 16 registers AVX2 has.
    private const int TileRows256 = 6;

    // Weight panels that share one pass over the activations.
    private const int PanelGroup = 4;

    private readonly WorkerPool _pool;
    private readonly bool _vector512;
    private readonly int _tileRows;
    private readonly Action<int, int> _packTiles;
    private readonly Action<int, int> _multiplyPanels;
    private readonly ScratchBuffer<float> _packed = new();
    private readonly TransposedPanels _backward;

    // The call in progress, read by the cached delegates.
    private float* _x;
    private float* _y;
    private Fp32Weight? _weight;
    private int _rows;

    public Fp32MatMul(WorkerPool pool) : this(pool, Vector512.IsHardwareAccelerated)
    {
    }

    /// <param name="pool">Threads to split output panels over.</param>
    /// <param name="useVector512">False runs the Vector256 kernels (tests; CPUs where 512-bit code is slower).</param>
    public Fp32MatMul(WorkerPool pool, bool useVector512)
    {
        _pool = pool;
        _vector512 = useVector512;
        _tileRows = useVector512 ? TileRows512 : TileRows256;
        _packTiles = PackTiles;
        _multiplyPanels = MultiplyPanels;
        _backward = new TransposedPanels(pool, useVector512);
    }

    public void Forward(ReadOnlySpan<float> x, int rows, Fp32Weight w, Span<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (x.Length < (long)rows * w.Cols) throw new ArgumentException($"x needs {rows}×{w.Cols} values, has {x.Length}");
        if (y.Length < (long)rows * w.Rows) throw new ArgumentException($"y needs {rows}×{w.Rows} values, has {y.Length}");
        if (rows == 0) return;
        var tiles = (rows + _tileRows - 1) / _tileRows;
        if (rows > 1) _packed.Reserve((long)tiles * _tileRows * w.Cols);
        fixed (float* xp = x, yp = y)
        {
            _x = xp;
            _y = yp;
            _weight = w;
            _rows = rows;
            if (rows > 1) _pool.For(tiles, 1, _packTiles);
            _pool.For(w.Panels, 1, _multiplyPanels);
            _x = _y = null;
            _weight = null;
        }
    }

    /// <summary>
    /// The gradient through <see cref="Forward"/> with respect to x: dX[rows, w.Cols] = dY[rows, w.Rows] · W. The
    /// weight is frozen, so there is no weight gradient.
    /// </summary>
    public void BackwardInput(ReadOnlySpan<float> dY, int rows, Fp32Weight w, Span<float> dX) => _backward.Run(dY, rows, w, dX);

    private void PackTiles(int start, int end)
    {
        for (var t = start; t < end; t++)
            PackTile(_x, _weight!.Cols, 1, _rows, _weight.Cols, t, _tileRows, _packed.Pointer + (long)t * _tileRows * _weight.Cols);
    }

    /// <summary>
    /// Tile t of a matrix [rows, k] whose element (i, c) sits at a[i·rowStride + c·colStride] (strides, so a
    /// transposed operand packs the same way), as [k][tileRows]; rows past the end are zero.
    /// </summary>
    internal static void PackTile(float* a, long rowStride, long colStride, int rows, int k, int t, int tileRows, float* target)
    {
        for (var r = 0; r < tileRows; r++)
        {
            var row = t * tileRows + r;
            var source = a + row * rowStride;
            if (row < rows) for (var c = 0; c < k; c++) target[c * tileRows + r] = source[c * colStride];
            else for (var c = 0; c < k; c++) target[c * tileRows + r] = 0f;
        }
    }

    private void MultiplyPanels(int start, int end)
    {
        var w = _weight!;
        int rows = _rows, tileRows = _tileRows, k = w.Cols, outCols = w.Rows;
        var tile = stackalloc float[TileRows512 * PanelWidth];
        if (rows == 1)
        {
            for (var p = start; p < end; p++)
            {
                var panel = w.Packed + (long)p * k * PanelWidth;
                if (_vector512) Row512(_x, panel, k, tile);
                else Row256(_x, panel, k, tile);
                PanelOutput.Copy(tile, 1, Math.Min(PanelWidth, outCols - p * PanelWidth), _y + p * PanelWidth, outCols);
            }
            return;
        }
        // A few panels at a time against each activation tile, so activations are read from memory once per
        // group rather than once per panel.
        for (var first = start; first < end; first += PanelGroup)
        {
            var last = Math.Min(end, first + PanelGroup);
            for (var i = 0; i < rows; i += tileRows)
            {
                var x = _packed.Pointer + (long)i * k;
                for (var p = first; p < last; p++)
                {
                    var panel = w.Packed + (long)p * k * PanelWidth;
                    if (_vector512) Tile512(x, panel, k, tile);
                    else Tile256(x, panel, k, tile);
                    var cols = Math.Min(PanelWidth, outCols - p * PanelWidth);
                    PanelOutput.Copy(tile, Math.Min(tileRows, rows - i), cols, _y + (long)i * outCols + p * PanelWidth, outCols);
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Tile512"/> on two panels at once: tile0 = x · w0 and tile1 = x · w1, each value by the very same
    /// FMAs in the same order. 16 accumulators take 10 loads per 16 FMAs where one panel takes 9 per 8, so the
    /// pair runs at the FMA units' rate rather than the load ports'.
    /// </summary>
    internal static void Tile512Pair(float* x, float* w0, float* w1, int k, float* tile0, float* tile1)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        for (var c = 0; c < k; c++, x += TileRows512, w0 += PanelWidth, w1 += PanelWidth)
        {
            var v = Vector512.Load(w0);
            var u = Vector512.Load(w1);
            var s = Vector512.Create(x[0]);
            a0 = Vector512.FusedMultiplyAdd(s, v, a0);
            b0 = Vector512.FusedMultiplyAdd(s, u, b0);
            s = Vector512.Create(x[1]);
            a1 = Vector512.FusedMultiplyAdd(s, v, a1);
            b1 = Vector512.FusedMultiplyAdd(s, u, b1);
            s = Vector512.Create(x[2]);
            a2 = Vector512.FusedMultiplyAdd(s, v, a2);
            b2 = Vector512.FusedMultiplyAdd(s, u, b2);
            s = Vector512.Create(x[3]);
            a3 = Vector512.FusedMultiplyAdd(s, v, a3);
            b3 = Vector512.FusedMultiplyAdd(s, u, b3);
            s = Vector512.Create(x[4]);
            a4 = Vector512.FusedMultiplyAdd(s, v, a4);
            b4 = Vector512.FusedMultiplyAdd(s, u, b4);
            s = Vector512.Create(x[5]);
            a5 = Vector512.FusedMultiplyAdd(s, v, a5);
            b5 = Vector512.FusedMultiplyAdd(s, u, b5);
            s = Vector512.Create(x[6]);
            a6 = Vector512.FusedMultiplyAdd(s, v, a6);
            b6 = Vector512.FusedMultiplyAdd(s, u, b6);
            s = Vector512.Create(x[7]);
            a7 = Vector512.FusedMultiplyAdd(s, v, a7);
            b7 = Vector512.FusedMultiplyAdd(s, u, b7);
        }
        a0.Store(tile0);
        a1.Store(tile0 + 16);
        a2.Store(tile0 + 32);
        a3.Store(tile0 + 48);
        a4.Store(tile0 + 64);
        a5.Store(tile0 + 80);
        a6.Store(tile0 + 96);
        a7.Store(tile0 + 112);
        b0.Store(tile1);
        b1.Store(tile1 + 16);
        b2.Store(tile1 + 32);
        b3.Store(tile1 + 48);
        b4.Store(tile1 + 64);
        b5.Store(tile1 + 80);
        b6.Store(tile1 + 96);
        b7.Store(tile1 + 112);
    }

    /// <summary>tile[8][16] = x tile ([k][8]) · w panel ([k][16]).</summary>
    internal static void Tile512(float* x, float* w, int k, float* tile)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
        for (var c = 0; c < k; c++, x += TileRows512, w += PanelWidth)
        {
            var v = Vector512.Load(w);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(x[0]), v, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(x[1]), v, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Create(x[2]), v, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Create(x[3]), v, a3);
            a4 = Vector512.FusedMultiplyAdd(Vector512.Create(x[4]), v, a4);
            a5 = Vector512.FusedMultiplyAdd(Vector512.Create(x[5]), v, a5);
            a6 = Vector512.FusedMultiplyAdd(Vector512.Create(x[6]), v, a6);
            a7 = Vector512.FusedMultiplyAdd(Vector512.Create(x[7]), v, a7);
        }
        a0.Store(tile);
        a1.Store(tile + 16);
        a2.Store(tile + 32);
        a3.Store(tile + 48);
        a4.Store(tile + 64);
        a5.Store(tile + 80);
        a6.Store(tile + 96);
        a7.Store(tile + 112);
    }

    /// <summary>tile[6][16] = x tile ([k][6]) · w panel ([k][16]).</summary>
    internal static void Tile256(float* x, float* w, int k, float* tile)
    {
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default;
        Vector256<float> a30 = default, a31 = default, a40 = default, a41 = default, a50 = default, a51 = default;
        for (var c = 0; c < k; c++, x += TileRows256, w += PanelWidth)
        {
            var v0 = Vector256.Load(w);
            var v1 = Vector256.Load(w + 8);
            var b = Vector256.Create(x[0]);
            a00 = Vector256.FusedMultiplyAdd(b, v0, a00);
            a01 = Vector256.FusedMultiplyAdd(b, v1, a01);
            b = Vector256.Create(x[1]);
            a10 = Vector256.FusedMultiplyAdd(b, v0, a10);
            a11 = Vector256.FusedMultiplyAdd(b, v1, a11);
            b = Vector256.Create(x[2]);
            a20 = Vector256.FusedMultiplyAdd(b, v0, a20);
            a21 = Vector256.FusedMultiplyAdd(b, v1, a21);
            b = Vector256.Create(x[3]);
            a30 = Vector256.FusedMultiplyAdd(b, v0, a30);
            a31 = Vector256.FusedMultiplyAdd(b, v1, a31);
            b = Vector256.Create(x[4]);
            a40 = Vector256.FusedMultiplyAdd(b, v0, a40);
            a41 = Vector256.FusedMultiplyAdd(b, v1, a41);
            b = Vector256.Create(x[5]);
            a50 = Vector256.FusedMultiplyAdd(b, v0, a50);
            a51 = Vector256.FusedMultiplyAdd(b, v1, a51);
        }
        a00.Store(tile);
        a01.Store(tile + 8);
        a10.Store(tile + 16);
        a11.Store(tile + 24);
        a20.Store(tile + 32);
        a21.Store(tile + 40);
        a30.Store(tile + 48);
        a31.Store(tile + 56);
        a40.Store(tile + 64);
        a41.Store(tile + 72);
        a50.Store(tile + 80);
        a51.Store(tile + 88);
    }

    /// <summary>Decode: one row × one panel, four columns in flight on separate accumulators.</summary>
    private static void Row512(float* x, float* w, int k, float* tile)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var c = 0;
        for (; c + 4 <= k; c += 4, w += 4 * PanelWidth)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(x[c]), Vector512.Load(w), a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(x[c + 1]), Vector512.Load(w + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Create(x[c + 2]), Vector512.Load(w + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Create(x[c + 3]), Vector512.Load(w + 48), a3);
        }
        for (; c < k; c++, w += PanelWidth) a0 = Vector512.FusedMultiplyAdd(Vector512.Create(x[c]), Vector512.Load(w), a0);
        (a0 + a1 + (a2 + a3)).Store(tile);
    }

    private static void Row256(float* x, float* w, int k, float* tile)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var c = 0;
        for (; c + 2 <= k; c += 2, w += 2 * PanelWidth)
        {
            var b = Vector256.Create(x[c]);
            a0 = Vector256.FusedMultiplyAdd(b, Vector256.Load(w), a0);
            a1 = Vector256.FusedMultiplyAdd(b, Vector256.Load(w + 8), a1);
            b = Vector256.Create(x[c + 1]);
            a2 = Vector256.FusedMultiplyAdd(b, Vector256.Load(w + 16), a2);
            a3 = Vector256.FusedMultiplyAdd(b, Vector256.Load(w + 24), a3);
        }
        if (c < k)
        {
            var b = Vector256.Create(x[c]);
            a0 = Vector256.FusedMultiplyAdd(b, Vector256.Load(w), a0);
            a1 = Vector256.FusedMultiplyAdd(b, Vector256.Load(w + 8), a1);
        }
        (a0 + a2).Store(tile);
        (a1 + a3).Store(tile + 8);
    }

    public void Dispose()
    {
        _packed.Dispose();
        _backward.Dispose();
    }

    /// <summary>
    /// W as the [w.Rows, w.Cols] operand of dY · W: a panel of 16 input columns gathers, for every output row, the
    /// row's 16 values, which the packed layout keeps 16 floats apart.
    /// </summary>
    private sealed class TransposedPanels(WorkerPool pool, bool useVector512) : WeightPanels<Fp32Weight>(pool, useVector512)
    {
        protected override void FillPanel(int panel, int firstK, int k, float* target)
        {
            var w = Weight;
            var first = panel * PanelWidth;
            var width = Math.Min(PanelWidth, w.Cols - first);
            for (var o = firstK; o < firstK + k; o++, target += PanelWidth)
            {
                var source = w.Packed + ((long)(o / PanelWidth) * w.Cols + first) * PanelWidth + o % PanelWidth;
                for (var j = 0; j < width; j++) target[j] = source[j * PanelWidth];
                for (var j = width; j < PanelWidth; j++) target[j] = 0f;
            }
        }
    }
}
