using BenchmarkDotNet.Running;
using Dromedary.Bench;

// `e2e [threads] [kernels]` runs the end-to-end prefill/decode benchmark; `train [threads] [steps] [micro-batch] [tokens]`
// the LoRA step (a micro-batch above 1: as one block beside one sequence per call);
// `gen [threads] [kernels] [requests]` the batched engine on a shared-prefix workload; `gpu [ptx-dir]` the GPU
// int8 matmul; `rouge [pool] [candidates]` the ROUGE-L novelty filter; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "e2e") return EndToEndBench.Run(args);
if (args.Length > 0 && args[0] == "train") return TrainStepBench.Run(args);
if (args.Length > 0 && args[0] == "gen") return GenerationBench.Run(args);
if (args.Length > 0 && args[0] == "gpu") return GpuMatMulBench.Run(args);
if (args.Length > 0 && args[0] == "rouge") return RougeBench.Run(args);
if (args.Length > 1 && args[0] == "stack")
{
    // `stack PRESET GB/s`: decode of generated layers of a preset's shape on the default kernel set.
    StackDecodeBench.Run(args[1], double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) * 1e9);
    return 0;
}

// Peaks are measured in this process so the throughput columns can report a fraction of them.
PeakProbe.Measure(threads: MatMulBenchmarks.Threads);
Console.WriteLine($"Peak on {MatMulBenchmarks.Threads} threads: int8 vpdpbusd ymm {PeakProbe.Int8Gops:F0} GOP/s, " +
    $"fp32 FMA zmm {PeakProbe.Fp32Gflops:F0} GFLOP/s");
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
