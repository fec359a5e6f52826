using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Dromedary.Kernels;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class InfoCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellation)
    {
        AnsiConsole.MarkupLine($"[bold]CPU[/]: {Environment.ProcessorCount} threads; " +
                               $"AVX2 {Avx2.IsSupported}, AVX-512 {Vector512.IsHardwareAccelerated}, AVX-VNNI {AvxVnni.IsSupported}");
        var gpus = Dromedary.Kernels.Gpu.IlgpuRuntime.DescribeCudaDevices();
        if (gpus.Count == 0) AnsiConsole.MarkupLine("[bold]GPU[/]: no CUDA device (none present, or no driver library libcuda.so / libcuda.so.1)");
        foreach (var gpu in gpus) AnsiConsole.MarkupLineInterpolated($"[bold]GPU[/]: {gpu}");
        var table = new Table().AddColumns("kernel set", "what it is");
        foreach (var (name, summary) in KernelRegistry.Available) table.AddRow(name, Markup.Escape(summary));
        AnsiConsole.Write(table);
        using var chosen = KernelRegistry.Create(null, Environment.ProcessorCount);
        AnsiConsole.MarkupLineInterpolated($"chosen by default, for every op: [bold]{chosen.Name}[/] ({chosen.Description})");
        return 0;
    }
}
