using Dromedary.Kernels.Cpu;
using Dromedary.Kernels.Gpu;

namespace Dromedary.Kernels;

/// <summary>
/// The kernel sets this build knows, by name. <c>--kernels NAME</c> picks one; without it the best set for the
/// machine is chosen. A new set (a GPU, a tuned architecture) is one more entry here.
/// </summary>
public static class KernelRegistry
{
    private sealed record Entry(string Name, string Summary, Func<int, IKernelSet> Create);

    private static readonly Entry[] Entries =
    [
        new("cpu", "CPU SIMD kernels; int8 matmul with AVX-VNNI where the CPU has it",
            threads => new CpuKernelSet("cpu", threads, Int8MatMul.Best)),
        new("cpu-portable", "CPU kernels without AVX-VNNI (any x64 or ARM CPU); the int8 reference path",
            threads => new CpuKernelSet("cpu-portable", threads, Int8Kernel.Portable)),
        new("ilgpu", "ILGPU SIMT kernels on the first CUDA GPU, else on ILGPU's CPU accelerator (slow; for checking)",
            _ => new IlgpuKernelSet("ilgpu", IlgpuRuntime.Create())),
        new("ilgpu-sm80", "ILGPU kernels with the int8 matmul on tensor cores (mma.sync); CUDA compute capability 8.0 and newer",
            _ => Tuned("ilgpu-sm80", GpuInt8Variant.Mma)),
    ];

    private static IKernelSet Tuned(string name, GpuInt8Variant variant)
    {
        try
        {
            return new IlgpuKernelSet(name, IlgpuRuntime.Create(), variant);
        }
        catch (NotSupportedException e)
        {
            throw new DromedaryException($"kernel set '{name}': {e.Message}");
        }
    }

    /// <summary>The set for this machine: tensor cores on sm_80+ GPUs, SIMT kernels on older GPUs, else the CPU.</summary>
    private static string DefaultName() => IlgpuRuntime.BestCudaArchitecture() switch
    {
        null => "cpu",
        var architecture when architecture >= ILGPU.Runtime.Cuda.CudaArchitecture.SM_80 => "ilgpu-sm80",
        _ => "ilgpu",
    };

    public static IEnumerable<(string Name, string Summary)> Available => Entries.Select(e => (e.Name, e.Summary));

    /// <summary>Creates the named set, or the best for this machine when <paramref name="name"/> is null.</summary>
    public static IKernelSet Create(string? name, int threads)
    {
        if (threads < 1) throw new DromedaryException($"--threads must be at least 1, not {threads}.");
        name ??= DefaultName();
        var entry = Entries.FirstOrDefault(e => e.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
              ?? throw new DromedaryException($"unknown kernel set '{name}'; available: {string.Join(", ", Entries.Select(e => e.Name))}.");
        return entry.Create(threads);
    }
}
