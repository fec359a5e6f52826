using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Kernels.Gpu;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>
/// The GPU int8 matmul against the CPU int8 kernel on the same inputs. Both quantize the activations the same
/// way and fold the same exact int32 block sums with the same fused multiply-adds in the same order, so the
/// results are equal bit for bit, not merely close.
/// </summary>
public sealed class GpuInt8Tests(GpuInt8Tests.Simulator simulator, ITestOutputHelper output) : IClassFixture<GpuInt8Tests.Simulator>
{
    /// <summary>ILGPU's CPU accelerator shaped like a CUDA device (warps of 32), with the Simt kernels loaded once.</summary>
    public sealed class Simulator : IDisposable
    {
        private readonly Context _context = Context.Create(builder => builder.CPU(new CPUDevice(32, 4, 1)));

        public Simulator()
        {
            Accelerator = _context.CreateCPUAccelerator(0);
            MatMul = new GpuInt8MatMul(Accelerator, GpuInt8Variant.Simt);
        }

        public Accelerator Accelerator { get; }
        public GpuInt8MatMul MatMul { get; }

        public void Dispose()
        {
            MatMul.Dispose();
            Accelerator.Dispose();
            _context.Dispose();
        }
    }

    public static TheoryData<int, int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (var rows in new[] { 1, 3, 9 })
        foreach (var cols in new[] { 96, 200, 256 })
        foreach (var outRows in new[] { 7, 33 })
        {
            data.Add(rows, cols, outRows, cols);
            if (cols > 128) data.Add(rows, cols, outRows, 128);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SimtOnCpuAcceleratorEqualsCpuKernelBitwise(int rows, int cols, int outRows, int groupSize)
    {
        var problem = new Problem(rows, cols, outRows, groupSize);
        Assert.Equal(problem.OnCpu(), problem.OnGpu(simulator.Accelerator, simulator.MatMul));
    }

    /// <summary>
    /// The scratch size against a count from the weights' shapes: per row of the call (padded to 64-row GEMM tiles,
    /// one row alone for the GEMV) and per 128-column block of the widest weight (counted column by column), 128
    /// int8 levels and one fp32 scale, each array rounded to the arena's 256 bytes; and what Reserve takes.
    /// </summary>
    [Theory]
    [InlineData(1, new[] { 96, 200 })]
    [InlineData(3, new[] { 256, 129 })]
    [InlineData(64, new[] { 128 })]
    [InlineData(65, new[] { 40, 1000, 300 })]
    public void ScratchBytesIsWhatTheWidestWeightNeedsForTheRows(int rows, int[] weightCols)
    {
        var widestBlocks = weightCols.Max(cols =>
        {
            var blocks = 0;
            for (var c = 0; c < cols; c += 128) blocks++;
            return blocks;
        });
        var tileRows = rows;
        while (rows > 1 && tileRows % 64 != 0) tileRows++;
        long RoundUp(long bytes) => (bytes + 255) / 256 * 256;
        var expected = RoundUp((long)tileRows * widestBlocks * 128) + RoundUp((long)tileRows * widestBlocks * sizeof(float));

        var bounds = new Int8MatMulBounds(rows, weightCols.Max());
        Assert.Equal(expected, GpuInt8MatMul.ScratchBytes(bounds));
        using var arena = new DeviceArena(simulator.Accelerator);
        using var matMul = new GpuInt8MatMul(simulator.Accelerator, GpuInt8Variant.Simt);
        var before = arena.UsedBytes;
        matMul.Reserve(arena, bounds);
        Assert.Equal(expected, arena.UsedBytes - before);
    }

    /// <summary>More rows, or a wider weight, than the scratch was reserved for: a clear error, no allocation.</summary>
    [Fact]
    public void ACallBeyondTheReservedScratchIsRefused()
    {
        var problem = new Problem(3, 200, 7, 200);
        using var arena = new DeviceArena(simulator.Accelerator);
        using var matMul = new GpuInt8MatMul(simulator.Accelerator, GpuInt8Variant.Simt);
        var empty = arena.UsedBytes;
        matMul.Reserve(arena, new Int8MatMulBounds(2, 200));
        var error = Assert.Throws<DromedaryException>(() => problem.OnGpuReserved(simulator.Accelerator, matMul, arena));
        Assert.Contains("3 rows", error.Message);
        Assert.Contains("reserved for 2 rows", error.Message);
        Assert.Equal(empty + GpuInt8MatMul.ScratchBytes(new Int8MatMulBounds(2, 200)), arena.UsedBytes);

        matMul.Reserve(arena, new Int8MatMulBounds(3, 128));
        Assert.Contains("200 input columns", Assert.Throws<DromedaryException>(() => problem.OnGpuReserved(simulator.Accelerator, matMul, arena)).Message);
        Assert.Equal(empty + GpuInt8MatMul.ScratchBytes(new Int8MatMulBounds(3, 128)), arena.UsedBytes);
    }

    [Fact]
    public void MmaRefusesAnAcceleratorWithoutTensorCores()
    {
        var error = Assert.Throws<NotSupportedException>(() => new GpuInt8MatMul(simulator.Accelerator, GpuInt8Variant.Mma));
        Assert.Contains("CUDA", error.Message);
    }

    [Fact]
    public void WeightRejectsGroupsThatSplitActivationBlocks()
    {
        using var arena = new DeviceArena(simulator.Accelerator);
        using var staging = new HostStaging(simulator.Accelerator);
        var error = Assert.Throws<ArgumentException>(() =>
            GpuInt8Weight.Create(arena, staging, LinearSource.Int8(new sbyte[2 * 200], new float[2 * 2], 2, 200, 100)));
        Assert.Contains("multiple of 128", error.Message);
    }

    public static TheoryData<string, string, bool> PtxCases()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var kernel in GpuInt8MatMul.Kernels.Keys)
        foreach (var arch in new[] { "SM_80", "SM_90" })
        foreach (var tuned in new[] { false, true })
            data.Add(kernel, arch, tuned);
        return data;
    }

    /// <summary>
    /// Each kernel compiles to PTX with no GPU present, with ILGPU's defaults and with the options the ILGPU
    /// kernel set uses (algorithms library, O2), calls nothing unresolved, and contains the instructions its
    /// exactness rests on. A fresh context per compile: a failed compile poisons its context.
    /// </summary>
    [Theory]
    [MemberData(nameof(PtxCases))]
    public void KernelCompilesToPtxWithItsInstructions(string kernel, string architecture, bool tuned)
    {
        var arch = architecture == "SM_90" ? CudaArchitecture.SM_90 : CudaArchitecture.SM_80;
        using var context = Context.Create(builder =>
        {
            builder.Cuda();
            if (tuned) builder.EnableAlgorithms().Optimize(OptimizationLevel.O2);
        });
        // No NVVM: ILGPU's own PTX generator, as at run time.
        using var backend = new PTXBackend(context, arch,
            CudaAccelerator.GetInstructionSet(arch, CudaDriverVersion.FromMajorMinor(12, 9)), nvvmAPI: null!);
        var compiled = (PTXCompiledKernel)backend.Compile(
            EntryPointDescription.FromExplicitlyGroupedKernel(GpuInt8MatMul.Kernels[kernel]), KernelSpecialization.Empty);
        var ptx = compiled.PTXAssembly;
        Assert.DoesNotContain(".extern .func", ptx);
        string[] expected = kernel switch
        {
            "quantize" => ["cvt.rni.s32.f32", "shfl.sync.bfly.b32"],
            "gemv" => ["dp4a.s32.s32", "fma.rn.f32", "shfl.sync.bfly.b32", "shfl.sync.idx.b32", ".v4.b32"],
            "simt" => ["dp4a.s32.s32", "fma.rn.f32", "bar.sync"],
            "mma" => ["mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32", "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
                "fma.rn.f32", "bar.sync"],
            _ => throw new ArgumentException(kernel),
        };
        foreach (var instruction in expected) Assert.Contains(instruction, ptx);
        output.WriteLine($"{kernel} {architecture}{(tuned ? " O2+algorithms" : "")}: {ptx.Length} characters of PTX");
    }

    /// <summary>
    /// Both variants on a real GPU, at shapes spanning several tiles in M and N, a block count that is not a
    /// multiple of 4 (the GEMV's tail) and groups of 128 and 256. Expected bit-exact; asserted to 1e-5 of the
    /// output's magnitude (Σ|x·w|), with the count of bit-identical outputs written out.
    /// </summary>
    [Theory]
    [InlineData(GpuInt8Variant.Simt)]
    [InlineData(GpuInt8Variant.Mma)]
    public void OnCudaMatchesCpuKernel(GpuInt8Variant variant)
    {
        IlgpuRuntime.EnsureDriverMapped();
        using var context = Context.Create(builder => builder.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        Assert.SkipUnless(context.GetCudaDevices().Count > 0, "no CUDA device");
        using var accelerator = context.GetCudaDevices()[0].CreateCudaAccelerator(context);
        using var matMul = new GpuInt8MatMul(accelerator, variant);
        foreach (var (rows, cols, outRows, groupSize) in new[]
                 {
                     (1, 200, 33, 128), (1, 640, 130, 640), (1, 4096, 300, 128), (3, 256, 33, 128), (9, 200, 7, 200),
                     (77, 384, 130, 128), (130, 640, 200, 256), (64, 1024, 64, 1024), (200, 1152, 330, 128),
                 })
        {
            var problem = new Problem(rows, cols, outRows, groupSize);
            var expected = problem.OnCpu();
            var actual = problem.OnGpu(accelerator, matMul);
            var magnitude = problem.Magnitude();
            var identical = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i])) identical++;
                Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 * magnitude[i],
                    $"{variant} {rows}×{cols}→{outRows} group {groupSize} [{i}]: {actual[i]} vs {expected[i]}");
            }
            output.WriteLine($"{variant} {rows}×{cols}→{outRows} group {groupSize}: {identical} of {expected.Length} bit-identical");
        }
    }

    /// <summary>Random int8 weights (quantized from uniform floats) and activations with an all-zero row.</summary>
    private sealed class Problem
    {
        private readonly int _rows, _cols, _outRows, _groupSize;
        private readonly float[] _x;
        private readonly sbyte[] _q;
        private readonly float[] _scales;

        public Problem(int rows, int cols, int outRows, int groupSize)
        {
            (_rows, _cols, _outRows, _groupSize) = (rows, cols, outRows, groupSize);
            var random = new Random(rows * 7919 + cols * 31 + outRows * 7 + groupSize);
            _x = Uniform(random, rows * cols, 4f);
            if (rows > 1) Array.Clear(_x, cols, cols); // a zero row: scale 0, levels 0
            var w = Uniform(random, outRows * cols, 1f);
            _q = new sbyte[w.Length];
            _scales = new float[outRows * ((cols + groupSize - 1) / groupSize)];
            Int8Quantizer.Quantize(w, outRows, cols, groupSize, _q, _scales);
        }

        private LinearSource Source => LinearSource.Int8(_q, _scales, _outRows, _cols, _groupSize);

        public float[] OnCpu()
        {
            using var pool = new WorkerPool(1);
            using var matMul = new Int8MatMul(pool, Int8Kernel.Portable);
            using var weight = Int8Weight.Create(Source);
            var y = new float[_rows * _outRows];
            matMul.Forward(_x, _rows, weight, y);
            return y;
        }

        /// <summary>The product on the device, its scratch reserved for exactly this call's bounds (which must be enough).</summary>
        public float[] OnGpu(Accelerator accelerator, GpuInt8MatMul matMul)
        {
            using var arena = new DeviceArena(accelerator);
            matMul.Reserve(arena, new Int8MatMulBounds(_rows, _cols));
            return OnGpuReserved(accelerator, matMul, arena);
        }

        /// <summary>The product on the device with whatever scratch <paramref name="matMul"/> holds.</summary>
        public float[] OnGpuReserved(Accelerator accelerator, GpuInt8MatMul matMul, DeviceArena arena)
        {
            using var staging = new HostStaging(accelerator);
            using var weight = GpuInt8Weight.Create(arena, staging, Source);
            using var x = accelerator.Allocate1D(_x);
            using var y = accelerator.Allocate1D<float>(_rows * _outRows);
            matMul.Forward(x.View, _rows, weight, y.View);
            accelerator.Synchronize();
            return y.GetAsArray1D();
        }

        /// <summary>Σ_k |x_k · ŵ_k| per output: the scale of its rounding error.</summary>
        public double[] Magnitude()
        {
            var groups = (_cols + _groupSize - 1) / _groupSize;
            var magnitude = new double[_rows * _outRows];
            for (var i = 0; i < _rows; i++)
            for (var j = 0; j < _outRows; j++)
            for (var k = 0; k < _cols; k++)
                magnitude[i * _outRows + j] += Math.Abs(_x[i * _cols + k] * _q[j * _cols + k] * _scales[j * groups + k / _groupSize]);
            return magnitude;
        }

        private static float[] Uniform(Random random, int count, float range)
        {
            var values = new float[count];
            for (var i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * range;
            return values;
        }
    }
}
