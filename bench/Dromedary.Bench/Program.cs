using BenchmarkDotNet.Running;
using Dromedary.Bench;

// `e2e` is reserved for the end-to-end benchmark (load a model, time prefill and decode tokens/s):
// the lead adds that command here. Every other invocation is BenchmarkDotNet's (--filter, --list, ...).
if (args.Length > 0 && args[0] == "e2e")
{
    Console.Error.WriteLine("e2e: the end-to-end benchmark is not written yet");
    return 2;
}

// Peaks are measured in this process so the throughput columns can report a fraction of them.
PeakProbe.Measure(threads: MatMulBenchmarks.Threads);
Console.WriteLine($"Peak on {MatMulBenchmarks.Threads} threads: int8 vpdpbusd ymm {PeakProbe.Int8Gops:F0} GOP/s, " +
    $"fp32 FMA zmm {PeakProbe.Fp32Gflops:F0} GFLOP/s");
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
