using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dromedary.Kernels.Cpu;

public enum Int8Kernel
{
    /// <summary>256-bit vpdpbusd (AVX-VNNI): register-tiled prefill, streaming decode.</summary>
    Vnni,

    /// <summary>Generic Vector256 code for any CPU; the numerical reference of the int8 path.</summary>
    Portable,
}

/// <summary>
/// y[rows, w.Rows] = x[rows, w.Cols] · Wᵀ with int8 weights. Each activation row is quantized on the fly in
/// blocks of 128 columns (symmetric, scale = absmax / 127, ties to even); each block's dot product is exact
/// in int32 and is added to an fp32 accumulator as fma(sum, xScale · wScale, acc), block by block. Both
/// kernels perform exactly these operations in this order, so their results are bitwise equal, and they
/// do not depend on the thread count. Work is split over 16-column weight panels.
/// </summary>
public sealed unsafe class Int8MatMul : IDisposable
{
    private const int BlockSize = Int8Weight.BlockSize;
    private const int PanelWidth = Int8Weight.PanelWidth;

    // Prefill tile: 6 rows × 2 vectors = 12 independent vpdpbusd chains, enough to hide its 5-cycle latency
    // at 2 per cycle; with the 2 weight vectors and 1 broadcast that is 15 of the 16 VEX registers.
    private const int TileRows = 6;

    // 127 / absmax overflows below ~4e-37; such blocks quantize to zero.
    private const float MinAbsMax = 1e-30f;

    private readonly WorkerPool _pool;
    private readonly Int8Kernel _kernel;
    private readonly Action<int, int> _quantizeRows;
    private readonly Action<int, int> _multiplyPanels;
    private NativeBuffer<byte> _activations = new(0);
    private NativeBuffer<float> _activationScales = new(0);

    // The call in progress, read by the cached delegates.
    private float* _x;
    private float* _y;
    private Int8Weight? _weight;
    private int _rows;
    private int _tileRows;

    public Int8MatMul(WorkerPool pool, Int8Kernel kernel)
    {
        if (kernel == Int8Kernel.Vnni && !AvxVnni.IsSupported)
            throw new PlatformNotSupportedException("the Vnni int8 kernel needs AVX-VNNI");
        _pool = pool;
        _kernel = kernel;
        _quantizeRows = QuantizeRows;
        _multiplyPanels = MultiplyPanels;
    }

    public static Int8Kernel Best => AvxVnni.IsSupported ? Int8Kernel.Vnni : Int8Kernel.Portable;

    public Int8Kernel Kernel => _kernel;

    public void Forward(ReadOnlySpan<float> x, int rows, Int8Weight w, Span<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (x.Length < (long)rows * w.Cols) throw new ArgumentException($"x needs {rows}×{w.Cols} values, has {x.Length}");
        if (y.Length < (long)rows * w.Rows) throw new ArgumentException($"y needs {rows}×{w.Rows} values, has {y.Length}");
        if (rows == 0) return;
        // Activations are stored in tiles of _tileRows rows interleaved by 4 bytes, the order the prefill
        // kernel broadcasts them in; decode and the portable kernel read plain rows.
        _tileRows = _kernel == Int8Kernel.Vnni && rows > 1 ? TileRows : 1;
        var paddedRows = (rows + _tileRows - 1) / _tileRows * _tileRows;
        Scratch.Grow(ref _activations, (long)paddedRows * w.PaddedCols);
        Scratch.Grow(ref _activationScales, (long)paddedRows * w.Blocks);
        fixed (float* xp = x, yp = y)
        {
            _x = xp;
            _y = yp;
            _weight = w;
            _rows = rows;
            _pool.For(rows, 8, _quantizeRows);
            _pool.For(w.Panels, 1, _multiplyPanels);
            _x = _y = null;
            _weight = null;
        }
    }

    private void QuantizeRows(int start, int end)
    {
        var w = _weight!;
        int tileRows = _tileRows, cols = w.Cols;
        // vpdpbusd multiplies unsigned bytes by signed ones: store q + 128 (q ^ 0x80) for it.
        var offset = _kernel == Int8Kernel.Vnni ? (byte)0x80 : (byte)0;
        var padded = stackalloc float[BlockSize];
        var q = stackalloc byte[BlockSize];
        for (var i = start; i < end; i++)
        {
            var x = _x + (long)i * cols;
            int tile = i / tileRows, lane = i % tileRows;
            var target = _activations.Pointer + ((long)tile * tileRows * w.PaddedCols + lane * 4);
            var scales = _activationScales.Pointer + ((long)tile * tileRows * w.Blocks + lane);
            for (var b = 0; b < w.Blocks; b++)
            {
                var source = x + b * BlockSize;
                var n = Math.Min(BlockSize, cols - b * BlockSize);
                if (n < BlockSize)
                {
                    new ReadOnlySpan<float>(source, n).CopyTo(new Span<float>(padded, BlockSize));
                    new Span<float>(padded + n, BlockSize - n).Clear();
                    source = padded;
                }
                scales[b * tileRows] = QuantizeBlock(source, q, offset);
                var block = target + (long)b * BlockSize * tileRows;
                for (var k = 0; k < BlockSize; k += 4) *(int*)(block + k * tileRows) = *(int*)(q + k);
            }
        }
    }

    /// <summary>Quantizes 128 floats to bytes (q ^ offset) and returns the scale.</summary>
    private static float QuantizeBlock(float* source, byte* q, byte offset)
    {
        var max = Vector256<float>.Zero;
        for (var k = 0; k < BlockSize; k += 8) max = Vector256.Max(max, Vector256.Abs(Vector256.Load(source + k)));
        var absMax = 0f;
        for (var k = 0; k < 8; k++) absMax = MathF.Max(absMax, max[k]);
        if (absMax < MinAbsMax)
        {
            new Span<byte>(q, BlockSize).Fill(offset);
            return 0f;
        }
        var inverse = Vector256.Create(127f / absMax);
        var flip = Vector256.Create(offset);
        for (var k = 0; k < BlockSize; k += 32)
        {
            var a = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(source + k) * inverse));
            var b = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(source + k + 8) * inverse));
            var c = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(source + k + 16) * inverse));
            var d = Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(source + k + 24) * inverse));
            (Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d)).AsByte() ^ flip).Store(q + k);
        }
        return absMax / 127f;
    }

    private void MultiplyPanels(int start, int end)
    {
        var w = _weight!;
        int rows = _rows, tileRows = _tileRows, outCols = w.Rows;
        var x = _activations.Pointer;
        var scales = _activationScales.Pointer;
        for (var p = start; p < end; p++)
        {
            var cols = Math.Min(PanelWidth, outCols - p * PanelWidth);
            var y = _y + p * PanelWidth;
            for (var i = 0; i < rows; i += tileRows)
            {
                var xi = x + (long)i * w.PaddedCols;
                var si = scales + (long)i * w.Blocks;
                var yi = y + (long)i * outCols;
                if (tileRows > 1) VnniTile(xi, si, w, p, yi, outCols, Math.Min(tileRows, rows - i), cols);
                else if (_kernel == Int8Kernel.Vnni) VnniRow(xi, si, w, p, yi, cols);
                else PortableRow((sbyte*)xi, si, w, p, yi, cols);
            }
        }
    }

    /// <summary>
    /// Six activation rows × one weight panel. Per 4 input columns: two 32-byte weight loads, six 4-byte
    /// activation broadcasts and twelve vpdpbusd; per 128-column block, each accumulator is folded into fp32.
    /// </summary>
    private static void VnniTile(byte* x, float* xScales, Int8Weight w, int panel, float* y, int yStride, int rows, int cols)
    {
        var weights = (sbyte*)w.Packed + (long)panel * w.PaddedCols * PanelWidth;
        var corrections = w.Corrections + (long)panel * w.Blocks * PanelWidth;
        var wScales = w.Scales + (long)panel * w.Groups * PanelWidth;
        Vector256<float> t00 = default, t01 = default, t10 = default, t11 = default, t20 = default, t21 = default;
        Vector256<float> t30 = default, t31 = default, t40 = default, t41 = default, t50 = default, t51 = default;
        for (int g = 0, b = 0; g < w.Groups; g++, wScales += PanelWidth)
        {
            for (var end = Math.Min(w.Blocks, b + w.BlocksPerGroup); b < end; b++, xScales += TileRows)
            {
                var c0 = Vector256.Load(corrections + b * PanelWidth);
                var c1 = Vector256.Load(corrections + b * PanelWidth + 8);
                Vector256<int> a00 = c0, a01 = c1, a10 = c0, a11 = c1, a20 = c0, a21 = c1;
                Vector256<int> a30 = c0, a31 = c1, a40 = c0, a41 = c1, a50 = c0, a51 = c1;
                for (var s = 0; s < BlockSize / 4; s++, x += 4 * TileRows, weights += 4 * PanelWidth)
                {
                    var w0 = Vector256.Load(weights);
                    var w1 = Vector256.Load(weights + 32);
                    var v = Broadcast(x);
                    a00 = AvxVnni.MultiplyWideningAndAdd(a00, v, w0);
                    a01 = AvxVnni.MultiplyWideningAndAdd(a01, v, w1);
                    v = Broadcast(x + 4);
                    a10 = AvxVnni.MultiplyWideningAndAdd(a10, v, w0);
                    a11 = AvxVnni.MultiplyWideningAndAdd(a11, v, w1);
                    v = Broadcast(x + 8);
                    a20 = AvxVnni.MultiplyWideningAndAdd(a20, v, w0);
                    a21 = AvxVnni.MultiplyWideningAndAdd(a21, v, w1);
                    v = Broadcast(x + 12);
                    a30 = AvxVnni.MultiplyWideningAndAdd(a30, v, w0);
                    a31 = AvxVnni.MultiplyWideningAndAdd(a31, v, w1);
                    v = Broadcast(x + 16);
                    a40 = AvxVnni.MultiplyWideningAndAdd(a40, v, w0);
                    a41 = AvxVnni.MultiplyWideningAndAdd(a41, v, w1);
                    v = Broadcast(x + 20);
                    a50 = AvxVnni.MultiplyWideningAndAdd(a50, v, w0);
                    a51 = AvxVnni.MultiplyWideningAndAdd(a51, v, w1);
                }
                t00 = Fold(a00, xScales[0], wScales, t00);
                t01 = Fold(a01, xScales[0], wScales + 8, t01);
                t10 = Fold(a10, xScales[1], wScales, t10);
                t11 = Fold(a11, xScales[1], wScales + 8, t11);
                t20 = Fold(a20, xScales[2], wScales, t20);
                t21 = Fold(a21, xScales[2], wScales + 8, t21);
                t30 = Fold(a30, xScales[3], wScales, t30);
                t31 = Fold(a31, xScales[3], wScales + 8, t31);
                t40 = Fold(a40, xScales[4], wScales, t40);
                t41 = Fold(a41, xScales[4], wScales + 8, t41);
                t50 = Fold(a50, xScales[5], wScales, t50);
                t51 = Fold(a51, xScales[5], wScales + 8, t51);
            }
        }
        PanelOutput.Store(y, t00, t01, cols);
        if (rows > 1) PanelOutput.Store(y + yStride, t10, t11, cols);
        if (rows > 2) PanelOutput.Store(y + 2 * yStride, t20, t21, cols);
        if (rows > 3) PanelOutput.Store(y + 3 * yStride, t30, t31, cols);
        if (rows > 4) PanelOutput.Store(y + 4 * yStride, t40, t41, cols);
        if (rows > 5) PanelOutput.Store(y + 5 * yStride, t50, t51, cols);
    }

    /// <summary>
    /// One activation row × one weight panel (decode): streams the panel once, sequentially. Two steps of
    /// 4 columns run on separate accumulators so four vpdpbusd chains are in flight.
    /// </summary>
    private static void VnniRow(byte* x, float* xScales, Int8Weight w, int panel, float* y, int cols)
    {
        var weights = (sbyte*)w.Packed + (long)panel * w.PaddedCols * PanelWidth;
        var corrections = w.Corrections + (long)panel * w.Blocks * PanelWidth;
        var wScales = w.Scales + (long)panel * w.Groups * PanelWidth;
        Vector256<float> t0 = default, t1 = default;
        for (int g = 0, b = 0; g < w.Groups; g++, wScales += PanelWidth)
        {
            for (var end = Math.Min(w.Blocks, b + w.BlocksPerGroup); b < end; b++)
            {
                var a0 = Vector256.Load(corrections + b * PanelWidth);
                var a1 = Vector256.Load(corrections + b * PanelWidth + 8);
                Vector256<int> a2 = default, a3 = default;
                for (var s = 0; s < BlockSize / 4; s += 2, x += 8, weights += 8 * PanelWidth)
                {
                    var v = Broadcast(x);
                    a0 = AvxVnni.MultiplyWideningAndAdd(a0, v, Vector256.Load(weights));
                    a1 = AvxVnni.MultiplyWideningAndAdd(a1, v, Vector256.Load(weights + 32));
                    v = Broadcast(x + 4);
                    a2 = AvxVnni.MultiplyWideningAndAdd(a2, v, Vector256.Load(weights + 64));
                    a3 = AvxVnni.MultiplyWideningAndAdd(a3, v, Vector256.Load(weights + 96));
                }
                t0 = Fold(a0 + a2, xScales[b], wScales, t0);
                t1 = Fold(a1 + a3, xScales[b], wScales + 8, t1);
            }
        }
        PanelOutput.Store(y, t0, t1, cols);
    }

    /// <summary>The same sums as <see cref="VnniRow"/> from signed activations, with generic vector ops only.</summary>
    private static void PortableRow(sbyte* x, float* xScales, Int8Weight w, int panel, float* y, int cols)
    {
        var weights = (int*)(w.Packed + (long)panel * w.PaddedCols * PanelWidth);
        var wScales = w.Scales + (long)panel * w.Groups * PanelWidth;
        Vector256<float> t0 = default, t1 = default;
        for (int g = 0, b = 0; g < w.Groups; g++, wScales += PanelWidth)
        {
            for (var end = Math.Min(w.Blocks, b + w.BlocksPerGroup); b < end; b++)
            {
                Vector256<int> a0 = default, a1 = default;
                for (var s = 0; s < BlockSize / 4; s++, x += 4, weights += PanelWidth)
                {
                    a0 += Dot4(Vector256.Load(weights), x);
                    a1 += Dot4(Vector256.Load(weights + 8), x);
                }
                t0 = Fold(a0, xScales[b], wScales, t0);
                t1 = Fold(a1, xScales[b], wScales + 8, t1);
            }
        }
        PanelOutput.Store(y, t0, t1, cols);
    }

    /// <summary>Per int32 lane: its 4 signed bytes dotted with x[0..3] (what vpdpbusd does per lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot4(Vector256<int> w, sbyte* x) =>
        ((w << 24) >> 24) * x[0] + ((w << 16) >> 24) * x[1] + ((w << 8) >> 24) * x[2] + (w >> 24) * x[3];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Broadcast(byte* x) => Vector256.Create(*(int*)x).AsByte();

    /// <summary>acc + sum · (xScale · wScale): the one place block sums meet fp32, shared by all kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fold(Vector256<int> sum, float xScale, float* wScale, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum), Vector256.Create(xScale) * Vector256.Load(wScale), acc);

    public void Dispose()
    {
        _activations.Dispose();
        _activationScales.Dispose();
    }
}
