using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Dromedary.Kernels;
using Dromedary.Kernels.Gpu;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Dromedary.Bench;

/// <summary>
/// <c>gpu [ptx-dir]</c>: the GPU int8 matmul (Simt and Mma) at LLaMA-65B's projection shapes, decode (1 row) and
/// prefill (512 rows), as TFLOP/s (2·M·N·K per call, quantization included) and weight GB/s against the H200's
/// 4.8 TB/s of HBM. Also prints each kernel's registers and local memory as the driver compiled them (local
/// bytes would mean ptxas kept ILGPU's inline-PTX operand slots in memory). With a directory argument it first
/// writes the kernels' SM_90 PTX there (no GPU needed), for ptxas. Without a CUDA device it says so and exits 0.
/// </summary>
internal static partial class GpuMatMulBench
{
    private const double HbmBytesPerSecond = 4.8e12;
    private static readonly (int M, int K, int N)[] Shapes = [(1, 8192, 8192), (1, 8192, 22016), (512, 8192, 8192), (512, 8192, 22016)];

    public static int Run(string[] args)
    {
        if (args.Length > 1) WritePtx(args[1]);
        IlgpuRuntime.EnsureDriverMapped();
        using var context = Context.Create(builder => builder.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        if (context.GetCudaDevices().Count == 0)
        {
            Console.WriteLine("gpu: no CUDA device found (no GPU, or no driver library); GPU benchmark skipped");
            return 0;
        }
        using var accelerator = (CudaAccelerator)context.GetCudaDevices()[0].CreateCudaAccelerator(context);
        Console.WriteLine($"gpu: {accelerator.Name}, SM {accelerator.Architecture.Major}.{accelerator.Architecture.Minor}, " +
            $"{accelerator.MemorySize >> 30} GiB, {accelerator.NumMultiprocessors} multiprocessors, driver " +
            $"{accelerator.DriverVersion.Major}.{accelerator.DriverVersion.Minor}");
        PrintKernelResources(accelerator);

        GpuInt8Variant[] variants = accelerator.Architecture >= CudaArchitecture.SM_80
            ? [GpuInt8Variant.Simt, GpuInt8Variant.Mma]
            : [GpuInt8Variant.Simt];
        var matMuls = variants.Select(v => new GpuInt8MatMul(accelerator, v)).ToArray();
        try
        {
            Console.WriteLine("| M×K→N | variant | µs per call | TFLOP/s | weight GB/s | of 4.8 TB/s | bits equal to Simt | managed B per call |");
            Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var (m, k, n) in Shapes) RunShape(accelerator, matMuls, variants, m, k, n);
        }
        finally
        {
            foreach (var matMul in matMuls) matMul.Dispose();
        }
        StackDecodeBench.Run();
        return 0;
    }

    private static void RunShape(Accelerator accelerator, GpuInt8MatMul[] matMuls, GpuInt8Variant[] variants, int m, int k, int n)
    {
        var random = new Random(m + k + n);
        var levels = new byte[(long)n * k];
        random.NextBytes(levels);
        var scales = Enumerable.Repeat(1f / 127 / 64, n).ToArray();
        var values = new float[(long)m * k];
        for (var i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        using var arena = new DeviceArena(accelerator);
        using var staging = new HostStaging(accelerator);
        using var weight = GpuInt8Weight.Create(arena, staging, LinearSource.Int8(MemoryMarshal.Cast<byte, sbyte>(levels), scales, n, k, k));
        using var x = accelerator.Allocate1D(values);
        using var y = accelerator.Allocate1D<float>((long)m * n);
        foreach (var matMul in matMuls) matMul.Reserve(arena, new Int8MatMulBounds(m, k));
        float[]? simt = null;
        for (var v = 0; v < matMuls.Length; v++)
        {
            var (seconds, allocated) = Time(accelerator, () => matMuls[v].Forward(x.View, m, weight, y.View), m == 1 ? 200 : 20);
            var result = y.GetAsArray1D();
            simt ??= result;
            var equal = result.Zip(simt).Count(p => BitConverter.SingleToInt32Bits(p.First) == BitConverter.SingleToInt32Bits(p.Second));
            var bytesPerSecond = (double)weight.Bytes / seconds;
            Console.WriteLine($"| {m}×{k}→{n} | {variants[v]} | {seconds * 1e6:F1} | {2.0 * m * n * k / seconds / 1e12:F2} | " +
                $"{bytesPerSecond / 1e9:F0} | {bytesPerSecond / HbmBytesPerSecond:P0} | {equal} of {result.Length} | {allocated:F0} |");
        }
    }

    /// <summary>
    /// Seconds and managed bytes allocated per call (ILGPU's launchers included): the mean of
    /// <paramref name="calls"/> back-to-back calls after three warm-ups.
    /// </summary>
    private static (double Seconds, double Bytes) Time(Accelerator accelerator, Action call, int calls)
    {
        for (var i = 0; i < 3; i++) call();
        accelerator.Synchronize();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++) call();
        accelerator.Synchronize();
        return (clock.Elapsed.TotalSeconds / calls, (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / calls);
    }

    private static void PrintKernelResources(CudaAccelerator accelerator)
    {
        foreach (var (name, method) in GpuInt8MatMul.Kernels)
        {
            if (name == "mma" && accelerator.Architecture < CudaArchitecture.SM_80) continue;
            using var kernel = (CudaKernel)accelerator.LoadKernel(method);
            cuFuncGetAttribute(out var registers, AttributeRegisters, kernel.FunctionPtr);
            cuFuncGetAttribute(out var local, AttributeLocalBytes, kernel.FunctionPtr);
            Console.WriteLine($"kernel {name}: {registers} registers, {local} bytes of local memory per thread");
        }
    }

    private static void WritePtx(string directory)
    {
        Directory.CreateDirectory(directory);
        using var context = Context.Create(builder => builder.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        var arch = CudaArchitecture.SM_90;
        using var backend = new PTXBackend(context, arch,
            CudaAccelerator.GetInstructionSet(arch, CudaDriverVersion.FromMajorMinor(12, 9)), nvvmAPI: null!);
        foreach (var (name, method) in GpuInt8MatMul.Kernels)
        {
            var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty);
            File.WriteAllText(Path.Combine(directory, $"{name}.ptx"), compiled.PTXAssembly);
        }
        Console.WriteLine($"gpu: SM_90 PTX of {GpuInt8MatMul.Kernels.Count} kernels written to {directory}");
    }

    private const int AttributeLocalBytes = 3, AttributeRegisters = 4; // CU_FUNC_ATTRIBUTE_*

    [LibraryImport("libcuda.so.1")]
    private static partial int cuFuncGetAttribute(out int value, int attribute, nint function);
}
