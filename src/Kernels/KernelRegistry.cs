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
    ];

    public static IEnumerable<(string Name, string Summary)> Available => Entries.Select(e => (e.Name, e.Summary));

    /// <summary>Creates the named set, or the best for this machine when <paramref name="name"/> is null.</summary>
    public static IKernelSet Create(string? name, int threads)
    {
        if (threads < 1) throw new DromedaryException($"--threads must be at least 1, not {threads}.");
        var entry = name is null
            ? Entries[0]
            : Entries.FirstOrDefault(e => e.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
              ?? throw new DromedaryException($"unknown kernel set '{name}'; available: {string.Join(", ", Entries.Select(e => e.Name))}.");
        return entry.Create(threads);
    }
}
