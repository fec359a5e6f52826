namespace Dromedary.Kernels.Cpu;

/// <summary>
/// C[M, N] (+)= A[M, K] · B[K, N] in fp32 on <see cref="Fp32MatMul"/>'s register tiles. A is packed into tiles of
/// rows interleaved per k, as Fp32MatMul packs activations. B is never materialized whole: a subclass writes a
/// chunk of K rows of a 16-column panel — copied, transposed or dequantized from wherever B lives — into a stack
/// buffer, so an int8 weight costs 64 KB of scratch, not its fp32 size. A unit is (group of panels, block of row
/// tiles); per K chunk it fills the group's panels once and runs every tile of the block against them, so both
/// operands' chunks stay in L2 and tiles after the first chunk are added to C. The chunking is fixed, so results
/// do not depend on the thread count. One call at a time per instance.
/// </summary>
internal abstract unsafe class PanelGemm : IDisposable
{
    protected const int PanelWidth = PanelOutput.Width;

    /// <summary>Panels that share one pass over a chunk of A, as in Fp32MatMul.</summary>
    private const int PanelGroup = 4;

    /// <summary>K rows per chunk: a panel's chunk is 16 KB and a tile's 8 KB, together well inside L1.</summary>
    private const int KChunk = 256;

    /// <summary>
    /// Row tiles per unit. Filling is scalar or short-vector work per element of B, the FMAs are 16-wide, so a filled
    /// chunk must serve a few hundred rows (192–256) before filling stops showing in the time.
    /// </summary>
    private const int TilesPerBlock = 32;

    private readonly WorkerPool _pool;
    private readonly bool _vector512;
    private readonly int _tileRows;
    private readonly Action<int, int> _packTiles;
    private readonly Action<int, int> _multiplyUnits;
    private readonly ScratchBuffer<float> _packed = new();

    // The call in progress, read by the cached delegates.
    private float* _a;
    private long _aRowStride;
    private long _aColStride;
    private float* _c;
    private int _m;
    private int _n;
    private int _k;
    private int _panels;
    private int _tiles;
    private int _blocks;
    private bool _accumulate;

    protected PanelGemm(WorkerPool pool, bool useVector512)
    {
        _pool = pool;
        _vector512 = useVector512;
        _tileRows = useVector512 ? 8 : 6;
        _packTiles = PackTiles;
        _multiplyUnits = MultiplyUnits;
    }

    /// <summary>
    /// Writes rows firstK .. firstK + k − 1 of B's columns 16·panel .. 16·panel + 15 as [k][16], zeros past B's
    /// last column.
    /// </summary>
    protected abstract void FillPanel(int panel, int firstK, int k, float* target);

    /// <summary>
    /// C[m, n] (+)= A · B with A's element (i, c) at a[i·aRowStride + c·aColStride] and C row-major [m, n].
    /// </summary>
    protected void Run(float* a, long aRowStride, long aColStride, int m, int n, int k, float* c, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) new Span<float>(c, checked(m * n)).Clear();
            return;
        }
        _panels = (n + PanelWidth - 1) / PanelWidth;
        _tiles = (m + _tileRows - 1) / _tileRows;
        _blocks = (_tiles + TilesPerBlock - 1) / TilesPerBlock;
        _packed.Reserve((long)_tiles * _tileRows * k);
        _a = a;
        _c = c;
        (_aRowStride, _aColStride, _m, _n, _k, _accumulate) = (aRowStride, aColStride, m, n, k, accumulate);
        try
        {
            _pool.For(_tiles, 1, _packTiles);
            _pool.For((_panels + PanelGroup - 1) / PanelGroup * _blocks, 1, _multiplyUnits);
        }
        finally
        {
            _a = _c = null;
        }
    }

    private void PackTiles(int start, int end)
    {
        for (var t = start; t < end; t++)
            Fp32MatMul.PackTile(_a, _aRowStride, _aColStride, _m, _k, t, _tileRows, _packed.Pointer + (long)t * _tileRows * _k);
    }

    private void MultiplyUnits(int start, int end)
    {
        // Aligned to a cache line, as the forward's packed weights are: a 64-byte load across two lines costs double.
        var buffer = stackalloc float[PanelGroup * KChunk * PanelWidth + PanelWidth];
        var b = (float*)(((nuint)buffer + 63) & ~(nuint)63);
        var tiles = stackalloc float[2 * 8 * PanelWidth];
        for (var unit = start; unit < end; unit++)
        {
            // Group-major, so a thread's consecutive units read the same columns of B.
            var firstPanel = unit / _blocks * PanelGroup;
            var panels = Math.Min(PanelGroup, _panels - firstPanel);
            var firstTile = unit % _blocks * TilesPerBlock;
            var endTile = Math.Min(_tiles, firstTile + TilesPerBlock);
            for (var firstK = 0; firstK < _k; firstK += KChunk)
            {
                var k = Math.Min(KChunk, _k - firstK);
                for (var p = 0; p < panels; p++) FillPanel(firstPanel + p, firstK, k, b + p * KChunk * PanelWidth);
                var add = _accumulate || firstK > 0;
                for (var t = firstTile; t < endTile; t++)
                {
                    var x = _packed.Pointer + ((long)t * _k + firstK) * _tileRows;
                    var row = t * _tileRows;
                    var rows = Math.Min(_tileRows, _m - row);
                    for (var p = 0; p < panels; p++)
                    {
                        var pair = _vector512 && p + 1 < panels;
                        var panel = b + p * KChunk * PanelWidth;
                        if (pair) Fp32MatMul.Tile512Pair(x, panel, panel + KChunk * PanelWidth, k, tiles, tiles + 8 * PanelWidth);
                        else if (_vector512) Fp32MatMul.Tile512(x, panel, k, tiles);
                        else Fp32MatMul.Tile256(x, panel, k, tiles);
                        Store(tiles, row, rows, firstPanel + p, add);
                        if (!pair) continue;
                        Store(tiles + 8 * PanelWidth, row, rows, firstPanel + ++p, add);
                    }
                }
            }
        }
    }

    /// <summary>Writes (or adds) one tile to C at row <paramref name="row"/>, the columns of <paramref name="panel"/>.</summary>
    private void Store(float* tile, int row, int rows, int panel, bool add)
    {
        var column = panel * PanelWidth;
        var c = _c + (long)row * _n + column;
        var cols = Math.Min(PanelWidth, _n - column);
        if (add) PanelOutput.Add(tile, rows, cols, c, _n);
        else PanelOutput.Copy(tile, rows, cols, c, _n);
    }

    public void Dispose() => _packed.Dispose();
}
