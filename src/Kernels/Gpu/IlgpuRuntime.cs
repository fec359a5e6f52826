using System.Runtime.InteropServices;
using System.Runtime.Loader;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// An ILGPU context and the accelerator a GPU kernel set runs on: the first CUDA device when a driver and a device
/// are present, else ILGPU's CPU accelerator shaped like a CUDA device (warps of 32, groups of
/// <see cref="GpuGroup.Size"/>) so warp shuffles and barriers behave as on the GPU. The CPU accelerator runs one
/// OS thread per GPU thread: it is for checking kernels at tiny shapes, not for speed.
/// </summary>
public sealed class IlgpuRuntime : IDisposable
{
    /// <summary>The driver library the resolver below loaded, when ILGPU's own lookup of "cuda" failed.</summary>
    private static string? s_resolvedDriver;

    static IlgpuRuntime()
    {
        // ILGPU imports the driver as "cuda" (libcuda.so); driver-only machines often have just libcuda.so.1,
        // and then ILGPU silently sees no GPU. This fallback runs only after the default lookup has failed.
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += (assembly, name) =>
        {
            if (assembly != typeof(Context).Assembly || name != "cuda" || !OperatingSystem.IsLinux()) return IntPtr.Zero;
            if (!NativeLibrary.TryLoad("libcuda.so.1", out var handle)) return IntPtr.Zero;
            s_resolvedDriver = "libcuda.so.1";
            return handle;
        };
    }

    /// <summary>Makes sure the libcuda.so.1 fallback is in place before a Context is made outside this class.</summary>
    public static void EnsureDriverMapped()
    {
        // Calling any static member runs the static constructor, which installs the resolver once.
    }

    private IlgpuRuntime(Context context, Accelerator accelerator, string description)
    {
        Context = context;
        Accelerator = accelerator;
        Description = description;
    }

    public Context Context { get; }
    public Accelerator Accelerator { get; }
    public bool IsCuda => Accelerator is CudaAccelerator;

    /// <summary>Device name, compute capability and driver, or that this is the CPU simulation.</summary>
    public string Description { get; }

    /// <summary>The first CUDA device, else the CPU accelerator. Never throws for a missing driver or GPU.</summary>
    /// <remarks>
    /// The CPU accelerator here runs one group at a time: every launch wakes all its simulated threads, so more
    /// only cost time.
    /// </remarks>
    public static IlgpuRuntime Create()
    {
        var simulator = Simulator(1);
        var context = Context.Create(builder => Configure(builder).Cuda().CPU(simulator));
        var devices = context.GetCudaDevices();
        var gpu = devices.Count > 0 ? devices[0] : null;
        return gpu is not null
            ? Open(context, gpu.CreateCudaAccelerator, a => DescribeCuda((CudaAccelerator)a))
            : Open(context, simulator.CreateCPUAccelerator, a => DescribeSimulator(a) + "; no CUDA device found");
    }

    /// <summary>Whether <see cref="Create"/> would find a CUDA device (ILGPU must also support its architecture).</summary>
    public static bool HasCudaDevice() => BestCudaArchitecture() is not null;

    /// <summary>One line per CUDA device (name, compute capability, memory), and the driver library used.</summary>
    public static IReadOnlyList<string> DescribeCudaDevices()
    {
        using var context = Context.Create(builder => builder.Cuda());
        var lines = new List<string>();
        foreach (var device in context.GetCudaDevices())
            lines.Add($"{device.Name}: compute capability {device.Architecture?.Major}.{device.Architecture?.Minor}, " +
                      $"{device.MemorySize >> 30} GiB, driver {device.DriverVersion.Major}.{device.DriverVersion.Minor} " +
                      $"({s_resolvedDriver ?? "libcuda.so"})");
        return lines;
    }

    /// <summary>The newest compute capability among the CUDA devices, or null when there is none.</summary>
    public static CudaArchitecture? BestCudaArchitecture()
    {
        using var context = Context.Create(builder => builder.Cuda());
        CudaArchitecture? best = null;
        foreach (var device in context.GetCudaDevices())
            if (device.Architecture is { } architecture && (best is null || architecture > best)) best = architecture;
        return best;
    }

    /// <summary>
    /// The CPU accelerator even where a GPU exists, for checking kernels against the CPU set at tiny shapes. The
    /// default runs two groups at a time, so that launches have more than one group and the kernels' grid
    /// indexing is exercised as on a GPU.
    /// </summary>
    public static IlgpuRuntime CreateSimulator(int groupsAtOnce = 2)
    {
        var simulator = Simulator(groupsAtOnce);
        return Open(Context.Create(builder => Configure(builder).CPU(simulator)), simulator.CreateCPUAccelerator, DescribeSimulator);
    }

    /// <summary>A CPU device shaped like a CUDA one: warps of 32, groups of <see cref="GpuGroup.Size"/>.</summary>
    private static CPUDevice Simulator(int groupsAtOnce) => new(GpuGroup.WarpSize, GpuGroup.Warps, groupsAtOnce);

    /// <summary>
    /// Options every Dromedary context uses, offline PTX compilation included: XMath's exp and log map to device
    /// intrinsics only with the algorithms library enabled.
    /// </summary>
    public static Context.Builder Configure(Context.Builder builder) => builder.EnableAlgorithms().Optimize(OptimizationLevel.O2);

    private static IlgpuRuntime Open(Context context, Func<Context, Accelerator> create, Func<Accelerator, string> describe)
    {
        try
        {
            var accelerator = create(context);
            return new IlgpuRuntime(context, accelerator, describe(accelerator));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    private static string DescribeCuda(CudaAccelerator cuda)
    {
        var capability = cuda.Architecture is { } arch ? $"compute capability {arch.Major}.{arch.Minor}" : "unknown compute capability";
        var driver = $"CUDA driver {cuda.DriverVersion.Major}.{cuda.DriverVersion.Minor}";
        var library = s_resolvedDriver ?? "the system's libcuda";
        return $"{cuda.Name}, {capability}, {cuda.MemorySize >> 20} MiB, {driver} ({library})";
    }

    private static string DescribeSimulator(Accelerator accelerator) =>
        $"CPU accelerator (simulation): warp {accelerator.WarpSize}, {accelerator.MaxNumThreadsPerGroup} threads per group, " +
        $"{accelerator.NumMultiprocessors} group{(accelerator.NumMultiprocessors == 1 ? "" : "s")} at a time";

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}
