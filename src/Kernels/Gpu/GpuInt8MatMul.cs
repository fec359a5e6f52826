using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dromedary.Kernels.Gpu;

public enum GpuInt8Variant
{
    /// <summary>Generic SIMT kernels (dp4a on CUDA): any CUDA GPU, and ILGPU's CPU accelerator for tests.</summary>
    Simt,

    /// <summary>
    /// Tensor cores (int8 <c>mma.sync</c>) for sm_80+. A single row (decode) still takes the SIMT GEMV: it is bound
    /// by weight bandwidth, and an mma tile would waste 15 of its 16 rows.
    /// </summary>
    Mma,
}

/// <summary>
/// y[rows, w.Rows] = x[rows, w.Cols] · Wᵀ on a GPU with the CPU int8 scheme (<see cref="Cpu.Int8MatMul"/>):
/// activations are quantized per row and 128-column block (scale = absmax / 127, halves to even) into a scratch
/// buffer, each block's int8 dot product is exact in int32, and acc = fma(sum, xScale · wScale, acc) runs block by
/// block. Every operation is the same IEEE operation in the same order, so results equal the CPU's bit for bit
/// (the context must not enable ILGPU's fast math, which makes divisions approximate). Kernels are queued on the
/// accelerator's default stream; the caller synchronizes. Kernels are compiled at construction and the scratch is
/// carved from a <see cref="DeviceArena"/> once, by <see cref="Reserve"/>, for the largest call the memory plan
/// counts (<see cref="ScratchBytes"/>): a call never allocates, and a larger one is refused. One call at a time per
/// instance: it owns the scratch.
/// </summary>
public sealed class GpuInt8MatMul : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly GpuInt8Variant _variant;
    private readonly Action<KernelConfig, ArrayView<float>, int, int, ArrayView<int>, ArrayView<float>, int, int> _quantize;
    private readonly Action<KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<float>, int, int, int, int> _gemv;
    private readonly Action<KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<float>, int, int, int, int, int> _gemm;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<sbyte>, ArrayView<float>, ArrayView<float>, Int8Shape> _backwardInput;
    private DeviceBuffer<int>? _activations;
    private DeviceBuffer<float>? _activationScales;
    private Int8MatMulBounds _bounds;

    public GpuInt8MatMul(Accelerator accelerator, GpuInt8Variant variant)
    {
        if (variant == GpuInt8Variant.Mma &&
            (accelerator is not CudaAccelerator cuda || cuda.Architecture < CudaArchitecture.SM_80))
        {
            throw new NotSupportedException($"the Mma int8 kernel needs a CUDA GPU of compute capability 8.0 or " +
                $"newer (int8 mma.sync through inline PTX); {accelerator.Name} ({accelerator.AcceleratorType}) is not " +
                "one. Use GpuInt8Variant.Simt.");
        }
        _accelerator = accelerator;
        _variant = variant;
        _quantize = accelerator.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<int>, ArrayView<float>, int, int>(
            GpuInt8Quantize.Kernel);
        _gemv = accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
            ArrayView<float>, int, int, int, int>(GpuInt8Gemv.Kernel);
        _gemm = accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
            ArrayView<float>, int, int, int, int, int>(
            variant == GpuInt8Variant.Mma ? GpuInt8MmaGemm.Kernel : GpuInt8SimtGemm.Kernel);
        _backwardInput = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<sbyte>, ArrayView<float>, ArrayView<float>, Int8Shape>(
            BackwardInputKernel);
    }

    /// <summary>Every kernel entry point by name, for offline PTX compilation checks.</summary>
    public static IReadOnlyDictionary<string, MethodInfo> Kernels { get; } = new Dictionary<string, MethodInfo>
    {
        ["quantize"] = new Action<ArrayView<float>, int, int, ArrayView<int>, ArrayView<float>, int, int>(GpuInt8Quantize.Kernel).Method,
        ["gemv"] = new Action<ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int,
            int, int>(GpuInt8Gemv.Kernel).Method,
        ["simt"] = new Action<ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int,
            int, int, int>(GpuInt8SimtGemm.Kernel).Method,
        ["mma"] = new Action<ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int,
            int, int, int>(GpuInt8MmaGemm.Kernel).Method,
    };

    public void Forward(ArrayView<float> x, int rows, GpuInt8Weight w, ArrayView<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (x.Length < (long)rows * w.Cols) throw new ArgumentException($"x needs {rows}×{w.Cols} values, has {x.Length}");
        if (y.Length < (long)rows * w.Rows) throw new ArgumentException($"y needs {rows}×{w.Rows} values, has {y.Length}");
        if (rows == 0) return;
        var paddedRows = PaddedRows(rows);
        var (q, scales) = Scratch(rows, paddedRows, w);
        _quantize(GpuInt8Quantize.Config(paddedRows, w.Blocks), x, rows, w.Cols, q, scales, paddedRows, w.Blocks);
        if (rows == 1)
        {
            _gemv(GpuInt8Gemv.Config(w.Rows), q, scales, w.Values, w.Scales, y, w.Rows, w.Blocks, w.Groups, w.BlocksPerGroup);
            return;
        }
        var config = _variant == GpuInt8Variant.Mma ? GpuInt8MmaGemm.Config(rows, w.Rows) : GpuInt8SimtGemm.Config(rows, w.Rows);
        _gemm(config, q, scales, w.Values, w.Scales, y, rows, w.Rows, w.Blocks, w.Groups, w.BlocksPerGroup);
    }

    /// <summary>
    /// The gradient through <see cref="Forward"/> with respect to x, as the CPU set computes it:
    /// dX[rows, w.Cols] = dY[rows, w.Rows] · Ŵ with Ŵ = q·scale the exact dequantized weight, expanded tile by tile
    /// in shared memory (never whole), the forward's activation quantization taken as the identity
    /// (straight-through), and dY kept in fp32. Sums run in a different order than the CPU's, so results agree to
    /// fp32 rounding, not bitwise.
    /// </summary>
    public void BackwardInput(ArrayView<float> dY, int rows, GpuInt8Weight w, ArrayView<float> dX)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (dY.Length < (long)rows * w.Rows) throw new ArgumentException($"dY needs {rows}×{w.Rows} values, has {dY.Length}");
        if (dX.Length < (long)rows * w.Cols) throw new ArgumentException($"dX needs {rows}×{w.Cols} values, has {dX.Length}");
        if (rows == 0) return;
        _backwardInput(GpuFp32MatMul.Launch(_accelerator, rows, w.Cols), dY, w.Values.Cast<sbyte>(), w.Scales, dX,
            new Int8Shape(new GemmShape(rows, w.Rows, w.Cols, 1f, 0), w.PaddedCols, w.Groups, w.BlocksPerGroup));
    }

    /// <summary>The tiled fp32 product of <see cref="GpuFp32MatMul"/>, its right operand dequantized as it is loaded.</summary>
    public static void BackwardInputKernel(ArrayView<float> dY, ArrayView<sbyte> w, ArrayView<float> scales, ArrayView<float> dX,
        Int8Shape shape) =>
        GpuFp32MatMul.Run(new GpuFp32MatMul.Rows(dY, shape.Gemm.Inputs), new DequantizedColumns(w, scales, shape), dX, shape.Gemm);

    /// <summary>Weight element (o, c) as q·scale, read transposed: element (i = c, k = o); consecutive c are adjacent bytes.</summary>
    private readonly struct DequantizedColumns(ArrayView<sbyte> w, ArrayView<float> scales, Int8Shape shape) : IGemmOperand
    {
        public bool AlongK => false;

        public float Load(int i, int k) =>
            w[(long)k * shape.PaddedCols + i] * scales[(long)k * shape.Groups + i / GpuInt8Math.Block / shape.BlocksPerGroup];
    }

    /// <summary>
    /// Bytes of the activation scratch for calls within <paramref name="bounds"/>, as <see cref="Reserve"/> takes them
    /// from the arena: per padded row and 128-column block of the widest input, the levels (four int8 to an int) and
    /// one fp32 scale.
    /// </summary>
    public static long ScratchBytes(Int8MatMulBounds bounds)
    {
        var blocks = ScratchBlocks(bounds);
        return DeviceArena.RoundUp(Math.Max(1, blocks * LevelInts * sizeof(int))) + DeviceArena.RoundUp(Math.Max(1, blocks * sizeof(float)));
    }

    /// <summary>
    /// Carves the activation scratch for calls within <paramref name="bounds"/> from <paramref name="arena"/>,
    /// replacing any earlier one; called when memory is reserved, never in a step.
    /// </summary>
    public void Reserve(DeviceArena arena, Int8MatMulBounds bounds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bounds.Rows);
        ArgumentOutOfRangeException.ThrowIfNegative(bounds.Cols);
        // Kernels still queued may read the old scratch.
        _accelerator.Synchronize();
        ReleaseScratch();
        var blocks = ScratchBlocks(bounds);
        _activations = arena.Allocate<int>(blocks * LevelInts);
        _activationScales = arena.Allocate<float>(blocks);
        _bounds = bounds;
    }

    /// <summary>The calls the reserved scratch holds (0 × 0 before <see cref="Reserve"/>).</summary>
    public Int8MatMulBounds Bounds => _bounds;

    /// <summary>The activation levels (int8 packed four to an int) of one 128-column block.</summary>
    private const int LevelInts = GpuInt8Math.Block / 4;

    /// <summary>GEMM tiles read whole 64-row activation tiles; the GEMV reads one row.</summary>
    private static int PaddedRows(int rows) =>
        rows <= 1 ? rows : (rows + GpuInt8Weight.RowAlignment - 1) / GpuInt8Weight.RowAlignment * GpuInt8Weight.RowAlignment;

    private static int Blocks(int cols) => (cols + GpuInt8Math.Block - 1) / GpuInt8Math.Block;

    private static long ScratchBlocks(Int8MatMulBounds bounds) => (long)PaddedRows(bounds.Rows) * Blocks(bounds.Cols);

    /// <summary>The reserved scratch's first paddedRows × w.Blocks blocks; a call beyond the reserved bounds is refused.</summary>
    private (ArrayView<int> Levels, ArrayView<float> Scales) Scratch(int rows, int paddedRows, GpuInt8Weight w)
    {
        if (_activations is null || _activationScales is null || rows > _bounds.Rows || w.Blocks > Blocks(_bounds.Cols))
            throw new DromedaryException($"an int8 matmul of {rows} rows × {w.Cols} input columns exceeds the activation scratch " +
                                         $"reserved for {_bounds.Rows} rows × {_bounds.Cols} columns (the memory plan's largest call); " +
                                         "plan for more rows per call (a larger chunk, engine step or micro-batch).");
        var blocks = (long)paddedRows * w.Blocks;
        return (_activations.View.SubView(0, blocks * LevelInts), _activationScales.View.SubView(0, blocks));
    }

    private void ReleaseScratch()
    {
        _activations?.Dispose();
        _activationScales?.Dispose();
        (_activations, _activationScales) = (null, null);
    }

    public void Dispose() => ReleaseScratch();
}

/// <summary>The input-gradient product's sizes and the int8 weight's layout (<see cref="GpuInt8Weight"/>).</summary>
public readonly record struct Int8Shape(GemmShape Gemm, int PaddedCols, int Groups, int BlocksPerGroup);
