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
/// do not depend on the thread count. Work is split over 16-column weight panels. One call at a time per
/// instance: it owns the activation scratch.
/// </summary>
public sealed unsafe class Int8MatMul : IDisposable
{
    private const int BlockSize = Int8Weight.BlockSize;
    private const int PanelWidth = Int8Weight.PanelWidth;

    // Prefill tile: 8 rows × 2 vectors = 16 independent vpdpbusd chains (its latency is 5 cycles at 2 per
    // cycle). The JIT keeps a vpdpbusd accumulator in ymm0-15 even when it encodes the sources from
    // ymm16-31, so 16 accumulators is the most that avoids register copies in the loop.
    private const int TileRows = 8;

    // Weight panels that share one pass over the activations.
    private const int PanelGroup = 4;

    // 127 / absmax overflows below ~4e-37; such blocks quantize to zero.
    private const float MinAbsMax = 1e-30f;

    private readonly WorkerPool _pool;
    private readonly Int8Kernel _kernel;
    private readonly Action<int, int> _quantizeRows;
    private readonly Action<int, int> _multiplyPanels;
    private readonly ScratchBuffer<byte> _activations = new();
    private readonly ScratchBuffer<float> _activationScales = new();
    private readonly DequantizedPanels _backward;

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
        _backward = new DequantizedPanels(pool, Vector512.IsHardwareAccelerated);
    }

    public static Int8Kernel Best => AvxVnni.IsSupported ? Int8Kernel.Vnni : Int8Kernel.Portable;

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
        _activations.Reserve((long)paddedRows * w.PaddedCols);
        _activationScales.Reserve((long)paddedRows * w.Blocks);
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

    /// <summary>
    /// The gradient through <see cref="Forward"/> with respect to x: dX[rows, w.Cols] = dY[rows, w.Rows] · Ŵ, Ŵ the
    /// dequantized frozen weight (no weight gradient). The forward's quantization of x is treated as the identity
    /// (straight-through), the usual choice for training on a quantized base. dY is not quantized: gradients are
    /// heavy-tailed, and per-block int8 rounding of them would add noise to every adapter below this layer. Instead
    /// Ŵ is expanded chunk by chunk to the exact fp32 values q·scale that <see cref="Int8Quantizer.Dequantize"/>
    /// gives, and multiplied with fp32 FMAs; the expansion is redone per block of up to 256 rows of dY, a few percent
    /// of the FMAs. Measured single-threaded at 128×2048×2048 it runs at ~60–75% of the fp32 forward's rate.
    /// </summary>
    public void BackwardInput(ReadOnlySpan<float> dY, int rows, Int8Weight w, Span<float> dX) => _backward.Run(dY, rows, w, dX);

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
        const int tileFloats = TileRows * PanelWidth;
        var w = _weight!;
        int rows = _rows, tileRows = _tileRows, outCols = w.Rows;
        var tile = stackalloc float[PanelGroup * tileFloats];
        // A few panels at a time against each activation tile: activations are read from memory once per
        // group rather than once per panel.
        for (var first = start; first < end; first += PanelGroup)
        {
            var count = Math.Min(PanelGroup, end - first);
            for (var i = 0; i < rows; i += tileRows)
            {
                var x = _activations.Pointer + (long)i * w.PaddedCols;
                var xScales = _activationScales.Pointer + (long)i * w.Blocks;
                new Span<float>(tile, PanelGroup * tileFloats).Clear();
                if (tileRows > 1)
                {
                    VnniTile(x, xScales, w, first, count, tile);
                }
                else
                {
                    for (var p = 0; p < count; p++)
                    {
                        if (_kernel == Int8Kernel.Vnni) VnniRow(x, xScales, w, first + p, tile + p * tileFloats);
                        else PortableRow((sbyte*)x, xScales, w, first + p, tile + p * tileFloats);
                    }
                }
                for (var p = 0; p < count; p++)
                {
                    var column = (first + p) * PanelWidth;
                    PanelOutput.Copy(tile + p * tileFloats, Math.Min(tileRows, rows - i), Math.Min(PanelWidth, outCols - column),
                        _y + (long)i * outCols + column, outCols);
                }
            }
        }
    }

    /// <summary>
    /// Eight activation rows × <paramref name="count"/> weight panels, block by block: each 128-column block of
    /// the activations (1 KB, in L1) meets every panel of the group before the next. Per 4 input columns: two
    /// 32-byte weight loads, eight 4-byte activation broadcasts and sixteen vpdpbusd; per block, each
    /// accumulator is folded into the fp32 tile, which lives in memory because ymm0-15 are all accumulators.
    /// </summary>
    private static void VnniTile(byte* x, float* xScales, Int8Weight w, int firstPanel, int count, float* tile)
    {
        for (int b = 0, blocks = w.Blocks, blocksPerGroup = w.BlocksPerGroup; b < blocks; b++)
        {
            var xs = xScales + b * TileRows;
            for (var p = 0; p < count; p++)
            {
                var panel = firstPanel + p;
                var corrections = w.Corrections + ((long)panel * blocks + b) * PanelWidth;
                var c0 = Vector256.Load(corrections);
                var c1 = Vector256.Load(corrections + 8);
                Vector256<int> a00 = c0, a01 = c1, a10 = c0, a11 = c1, a20 = c0, a21 = c1;
                Vector256<int> a30 = c0, a31 = c1, a40 = c0, a41 = c1, a50 = c0, a51 = c1;
                Vector256<int> a60 = c0, a61 = c1, a70 = c0, a71 = c1;
                var xb = x + b * BlockSize * TileRows;
                var wb = (sbyte*)w.Packed + ((long)panel * blocks + b) * BlockSize * PanelWidth;
                for (var s = 0; s < BlockSize / 4; s++, xb += 4 * TileRows, wb += 4 * PanelWidth)
                {
                    var w0 = Vector256.Load(wb);
                    var w1 = Vector256.Load(wb + 32);
                    var v = Broadcast(xb);
                    a00 = AvxVnni.MultiplyWideningAndAdd(a00, v, w0);
                    a01 = AvxVnni.MultiplyWideningAndAdd(a01, v, w1);
                    v = Broadcast(xb + 4);
                    a10 = AvxVnni.MultiplyWideningAndAdd(a10, v, w0);
                    a11 = AvxVnni.MultiplyWideningAndAdd(a11, v, w1);
                    v = Broadcast(xb + 8);
                    a20 = AvxVnni.MultiplyWideningAndAdd(a20, v, w0);
                    a21 = AvxVnni.MultiplyWideningAndAdd(a21, v, w1);
                    v = Broadcast(xb + 12);
                    a30 = AvxVnni.MultiplyWideningAndAdd(a30, v, w0);
                    a31 = AvxVnni.MultiplyWideningAndAdd(a31, v, w1);
                    v = Broadcast(xb + 16);
                    a40 = AvxVnni.MultiplyWideningAndAdd(a40, v, w0);
                    a41 = AvxVnni.MultiplyWideningAndAdd(a41, v, w1);
                    v = Broadcast(xb + 20);
                    a50 = AvxVnni.MultiplyWideningAndAdd(a50, v, w0);
                    a51 = AvxVnni.MultiplyWideningAndAdd(a51, v, w1);
                    v = Broadcast(xb + 24);
                    a60 = AvxVnni.MultiplyWideningAndAdd(a60, v, w0);
                    a61 = AvxVnni.MultiplyWideningAndAdd(a61, v, w1);
                    v = Broadcast(xb + 28);
                    a70 = AvxVnni.MultiplyWideningAndAdd(a70, v, w0);
                    a71 = AvxVnni.MultiplyWideningAndAdd(a71, v, w1);
                }
                var ws = w.Scales + ((long)panel * w.Groups + b / blocksPerGroup) * PanelWidth;
                var t = tile + p * TileRows * PanelWidth;
                Fold(a00, xs[0], ws, t);
                Fold(a01, xs[0], ws + 8, t + 8);
                Fold(a10, xs[1], ws, t + 16);
                Fold(a11, xs[1], ws + 8, t + 24);
                Fold(a20, xs[2], ws, t + 32);
                Fold(a21, xs[2], ws + 8, t + 40);
                Fold(a30, xs[3], ws, t + 48);
                Fold(a31, xs[3], ws + 8, t + 56);
                Fold(a40, xs[4], ws, t + 64);
                Fold(a41, xs[4], ws + 8, t + 72);
                Fold(a50, xs[5], ws, t + 80);
                Fold(a51, xs[5], ws + 8, t + 88);
                Fold(a60, xs[6], ws, t + 96);
                Fold(a61, xs[6], ws + 8, t + 104);
                Fold(a70, xs[7], ws, t + 112);
                Fold(a71, xs[7], ws + 8, t + 120);
            }
        }
    }

    /// <summary>
    /// Bytes ahead of the decode stream to prefetch: the hardware prefetcher alone left the 2-thread decode at
    /// ~19 GB/s where plain reads reach ~27; 4 KB ahead measured best of 1–16 KB (noisy shared machine).
    /// </summary>
    private const int PrefetchDistance = 4096;

    /// <summary>
    /// One activation row × one weight panel (decode): streams the panel once, sequentially. Two steps of
    /// 4 columns run on separate accumulators so four vpdpbusd chains are in flight.
    /// </summary>
    private static void VnniRow(byte* x, float* xScales, Int8Weight w, int panel, float* tile)
    {
        var weights = (sbyte*)w.Packed + (long)panel * w.PaddedCols * PanelWidth;
        var corrections = w.Corrections + (long)panel * w.Blocks * PanelWidth;
        var wScales = w.Scales + (long)panel * w.Groups * PanelWidth;
        for (int b = 0, blocks = w.Blocks, blocksPerGroup = w.BlocksPerGroup; b < blocks; b++)
        {
            var a0 = Vector256.Load(corrections + b * PanelWidth);
            var a1 = Vector256.Load(corrections + b * PanelWidth + 8);
            Vector256<int> a2 = default, a3 = default;
            var xb = x + b * BlockSize;
            var wb = weights + b * BlockSize * PanelWidth;
            for (var s = 0; s < BlockSize / 4; s += 2, xb += 8, wb += 8 * PanelWidth)
            {
                Sse.Prefetch0(wb + PrefetchDistance);
                Sse.Prefetch0(wb + PrefetchDistance + 64);
                var v = Broadcast(xb);
                a0 = AvxVnni.MultiplyWideningAndAdd(a0, v, Vector256.Load(wb));
                a1 = AvxVnni.MultiplyWideningAndAdd(a1, v, Vector256.Load(wb + 32));
                v = Broadcast(xb + 4);
                a2 = AvxVnni.MultiplyWideningAndAdd(a2, v, Vector256.Load(wb + 64));
                a3 = AvxVnni.MultiplyWideningAndAdd(a3, v, Vector256.Load(wb + 96));
            }
            var ws = wScales + b / blocksPerGroup * PanelWidth;
            Fold(a0 + a2, xScales[b], ws, tile);
            Fold(a1 + a3, xScales[b], ws + 8, tile + 8);
        }
    }

    /// <summary>The same sums as <see cref="VnniRow"/> from signed activations, with generic vector ops only.</summary>
    private static void PortableRow(sbyte* x, float* xScales, Int8Weight w, int panel, float* tile)
    {
        var weights = (int*)(w.Packed + (long)panel * w.PaddedCols * PanelWidth);
        var wScales = w.Scales + (long)panel * w.Groups * PanelWidth;
        for (int b = 0, blocks = w.Blocks, blocksPerGroup = w.BlocksPerGroup; b < blocks; b++)
        {
            Vector256<int> a0 = default, a1 = default;
            var xb = x + b * BlockSize;
            var wb = weights + b * BlockSize / 4 * PanelWidth;
            for (var s = 0; s < BlockSize / 4; s++, xb += 4, wb += PanelWidth)
            {
                var x02 = Vector256.Create((xb[0] & 0xFFFF) | (xb[2] << 16)).AsInt16();
                var x13 = Vector256.Create((xb[1] & 0xFFFF) | (xb[3] << 16)).AsInt16();
                a0 += Dot4(Vector256.Load(wb), x02, x13);
                a1 += Dot4(Vector256.Load(wb + 8), x02, x13);
            }
            var ws = wScales + b / blocksPerGroup * PanelWidth;
            Fold(a0, xScales[b], ws, tile);
            Fold(a1, xScales[b], ws + 8, tile + 8);
        }
    }

    /// <summary>
    /// Per int32 lane: its 4 signed bytes dotted with x[0..3], what vpdpbusd does per lane. Bytes 0 and 2 and
    /// bytes 1 and 3 are multiplied as int16 (x02, x13 hold x0|x2 and x1|x3); a pair of products fits int16
    /// (2 · 128 · 127 &lt; 32768), and the two pairs are added as int32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot4(Vector256<int> w, Vector256<short> x02, Vector256<short> x13)
    {
        var bytes = w.AsInt16();
        var pairs = (((bytes << 8) >> 8) * x02 + (bytes >> 8) * x13).AsInt32();
        return ((pairs << 16) >> 16) + (pairs >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Broadcast(byte* x) => Vector256.Create(*(int*)x).AsByte();

    /// <summary>acc += sum · (xScale · wScale): the one place block sums meet fp32, shared by all kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fold(Vector256<int> sum, float xScale, float* wScale, float* acc) =>
        Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum), Vector256.Create(xScale) * Vector256.Load(wScale),
            Vector256.Load(acc)).Store(acc);

    public void Dispose()
    {
        _activations.Dispose();
        _activationScales.Dispose();
        _backward.Dispose();
    }

    /// <summary>
    /// Ŵ as the [w.Rows, w.Cols] operand of dY · Ŵ. A panel's 16 input columns are 4 groups of 4 bytes per output
    /// row in the packed layout, and lie in one scale group (groups span whole 128-column blocks, or the row).
    /// Columns past w.Cols are packed as zeros and dequantize to zero.
    /// </summary>
    private sealed class DequantizedPanels(WorkerPool pool, bool useVector512) : WeightPanels<Int8Weight>(pool, useVector512)
    {
        protected override void FillPanel(int panel, int firstK, int k, float* target)
        {
            var w = Weight;
            var first = panel * PanelWidth;
            var group = first / w.GroupSize;
            for (var o = firstK; o < firstK + k; o++, target += PanelWidth)
            {
                int weightPanel = o / PanelWidth, lane = o % PanelWidth;
                var quads = (int*)w.Packed + ((long)weightPanel * (w.PaddedCols / 4) + first / 4) * PanelWidth + lane;
                var scale = Vector128.Create(w.Scales[((long)weightPanel * w.Groups + group) * PanelWidth + lane]);
                var (low, high) = Vector128.Widen(Vector128.Create(quads[0], quads[PanelWidth], quads[2 * PanelWidth], quads[3 * PanelWidth]).AsSByte());
                var (a, b) = Vector128.Widen(low);
                var (c, d) = Vector128.Widen(high);
                (Vector128.ConvertToSingle(a) * scale).Store(target);
                (Vector128.ConvertToSingle(b) * scale).Store(target + 4);
                (Vector128.ConvertToSingle(c) * scale).Store(target + 8);
                (Vector128.ConvertToSingle(d) * scale).Store(target + 12);
            }
        }
    }
}
