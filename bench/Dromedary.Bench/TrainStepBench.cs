using System.Diagnostics;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Training.Lora;

namespace Dromedary.Bench;

/// <summary>
/// Tokens/s of a LoRA training step on the CPU set: the mid-size random model (dim 2048, 16 layers) with int8
/// base weights, r = 16 on q, k, v, o (dropout 0.05, the method's), one sequence of 256 tokens all counted,
/// ForwardBackward then an AdamW update of every adapter matrix. PyTorch 1.13 does this step at about 29 tokens/s
/// on this machine. Besides wall time each step reports the process's CPU seconds: on a shared machine the wall
/// time measures the neighbours too, CPU time mostly this process (cache contention still shows in it).
/// </summary>
internal static class TrainStepBench
{
    private const double PyTorchTokensPerSecond = 29;
    private const int Tokens = 256;

    public static int Run(string[] args)
    {
        var threads = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2;
        var steps = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var config = EndToEndBench.MidSize;
        var directory = RandomCheckpoint.Ensure(config, EndToEndBench.MidSizeName);
        using var kernels = KernelRegistry.Create("cpu", threads);
        using var model = LlamaModel.Load(directory, kernels, new ModelLoadOptions(Precision.Int8));
        var adapter = LoraAdapter.Create(new LoraConfig(), config, 1);
        using var pass = new LoraTrainingPass(model, adapter, Tokens, 1);
        var gradients = new LoraGradients(adapter);
        using var pool = new WorkerPool(threads);
        var adamW = new CpuAdamW(pool, new AdamWOptions());
        var moments = adapter.Matrices.Select(m => (MA: new float[m.A.Length], VA: new float[m.A.Length], MB: new float[m.B.Length], VB: new float[m.B.Length])).ToArray();

        var random = new Random(7);
        var ids = Enumerable.Range(0, Tokens).Select(_ => random.Next(3, config.VocabSize)).ToArray();
        TrainingSequence[] batch = [new(ids, ids)];
        var scale = 1f / batch[0].CountedTargets;
        Console.WriteLine($"kernels: {kernels.Name} ({kernels.Description}); LoRA r=16 on q, k, v, o; 1 × {Tokens} tokens");

        var rates = new List<double>();
        var cpuSeconds = new List<double>();
        var process = Process.GetCurrentProcess();
        for (var step = 1; step <= steps + 1; step++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            gradients.Clear();
            var loss = pass.ForwardBackward(batch, scale, gradients, step, 0);
            for (var i = 0; i < adapter.Matrices.Count; i++)
            {
                var (m, g) = (adapter.Matrices[i], moments[i]);
                adamW.Step(m.A, gradients.A[i], g.MA, g.VA, 1e-4, step);
                adamW.Step(m.B, gradients.B[i], g.MB, g.VB, 1e-4, step);
            }
            var seconds = clock.Elapsed.TotalSeconds;
            process.Refresh();
            var used = (process.TotalProcessorTime - cpu).TotalSeconds;
            Console.WriteLine($"step {step}{(step == 1 ? " (warm-up)" : "")}: {seconds:F2} s, {Tokens / seconds:F1} tokens/s, {used:F2} CPU s, loss {loss:F3}");
            if (step == 1) continue;
            rates.Add(Tokens / seconds);
            cpuSeconds.Add(used);
        }
        var median = rates.Order().ElementAt(rates.Count / 2);
        var cpuMedian = cpuSeconds.Order().ElementAt(cpuSeconds.Count / 2);
        Console.WriteLine($"train step: {median:F1} tokens/s median of {steps} (best {rates.Max():F1}); PyTorch 1.13 {PyTorchTokensPerSecond}; " +
                          $"ratio {median / PyTorchTokensPerSecond:F2}; peak working set {process.PeakWorkingSet64 / 1e9:F2} GB; threads {threads}");
        Console.WriteLine($"CPU time: {cpuMedian:F2} CPU s a step (median), {Tokens / cpuMedian:F1} tokens per CPU second; " +
                          $"{threads} threads with the machine to themselves would reach about {threads * Tokens / cpuMedian:F1} tokens/s");
        return 0;
    }
}
