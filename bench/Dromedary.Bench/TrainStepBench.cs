using System.Diagnostics;
using System.Globalization;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Training.Lora;

namespace Dromedary.Bench;

/// <summary>
/// Tokens/s of a LoRA training step on the CPU set: the mid-size random model (dim 2048, 16 layers) with int8
/// base weights, r = 16 on q, k, v, o (dropout 0.05, the method's), ForwardBackward then an AdamW update of every
/// adapter matrix, all tokens counted. By default one sequence of 256 tokens; PyTorch 1.13 does that step at about
/// 29 tokens/s on this machine. Given a micro-batch above 1 (`train threads steps 4 64`) the same sequences run
/// twice: as one block (the engines' micro-batch path) and one sequence per call (as a micro-batch of 1), so the
/// block path's rate stands beside the per-sequence one. Besides wall time each step reports the process's CPU
/// seconds: on a shared machine the wall time measures the neighbours too, CPU time mostly this process (cache
/// contention still shows in it).
/// </summary>
internal static class TrainStepBench
{
    private const double PyTorchTokensPerSecond = 29;

    public static int Run(string[] args)
    {
        int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
        var (threads, steps, microBatch, tokens) = (Arg(1, 2), Arg(2, 5), Arg(3, 1), Arg(4, 256));
        var config = EndToEndBench.MidSize;
        var directory = RandomCheckpoint.Ensure(config, EndToEndBench.MidSizeName);
        using var kernels = KernelRegistry.Create("cpu", threads);
        using var model = LlamaModel.Load(directory, kernels, new ModelLoadOptions(Precision.Int8));
        var random = new Random(7);
        var batch = Enumerable.Range(0, microBatch).Select(_ =>
        {
            var ids = Enumerable.Range(0, tokens).Select(_ => random.Next(3, config.VocabSize)).ToArray();
            return new TrainingSequence(ids, ids);
        }).ToArray();
        Console.WriteLine($"kernels: {kernels.Name} ({kernels.Description}); LoRA r=16 on q, k, v, o; {microBatch} × {tokens} tokens");

        var median = Measure(model, batch, microBatch, steps, threads, microBatch > 1 ? "one block" : "train step");
        if (microBatch == 1)
        {
            Console.WriteLine($"PyTorch 1.13 {PyTorchTokensPerSecond} tokens/s; ratio {median / PyTorchTokensPerSecond:F2}");
            return 0;
        }
        var perSequence = Measure(model, batch, 1, steps, threads, "one sequence per call");
        Console.WriteLine($"block / per-sequence: {median / perSequence:F2}");
        return 0;
    }

    /// <summary>Runs warm-up + <paramref name="steps"/> steps on a pass whose block holds <paramref name="blockSequences"/> sequences; returns the median tokens/s.</summary>
    private static double Measure(LlamaModel model, TrainingSequence[] batch, int blockSequences, int steps, int threads, string label)
    {
        var adapter = LoraAdapter.Create(new LoraConfig(), model.Config, 1);
        using var pass = new LoraTrainingPass(model, adapter, batch[0].InputIds.Length, 1, blockSequences);
        var gradients = new LoraGradients(adapter);
        using var pool = new WorkerPool(threads);
        var adamW = new CpuAdamW(pool, new AdamWOptions());
        var moments = adapter.Matrices.Select(m => (MA: new float[m.A.Length], VA: new float[m.A.Length], MB: new float[m.B.Length], VB: new float[m.B.Length])).ToArray();
        var tokens = batch.Sum(s => s.InputIds.Length);
        var scale = 1f / batch.Sum(s => s.CountedTargets);

        var rates = new List<double>();
        var cpuSeconds = new List<double>();
        var process = Process.GetCurrentProcess();
        for (var step = 1; step <= steps + 1; step++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            gradients.Clear();
            var loss = 0.0;
            for (var start = 0; start < batch.Length; start += blockSequences)
                loss += pass.ForwardBackward(batch[start..Math.Min(batch.Length, start + blockSequences)], scale, gradients, step, start);
            for (var i = 0; i < adapter.Matrices.Count; i++)
            {
                var (m, g) = (adapter.Matrices[i], moments[i]);
                adamW.Step(m.A, gradients.A[i], g.MA, g.VA, 1e-4, step);
                adamW.Step(m.B, gradients.B[i], g.MB, g.VB, 1e-4, step);
            }
            var seconds = clock.Elapsed.TotalSeconds;
            process.Refresh();
            var used = (process.TotalProcessorTime - cpu).TotalSeconds;
            Console.WriteLine($"{label}, step {step}{(step == 1 ? " (warm-up)" : "")}: {seconds:F2} s, {tokens / seconds:F1} tokens/s, {used:F2} CPU s, loss {loss:F3}");
            if (step == 1) continue;
            rates.Add(tokens / seconds);
            cpuSeconds.Add(used);
        }
        var median = rates.Order().ElementAt(rates.Count / 2);
        var cpuMedian = cpuSeconds.Order().ElementAt(cpuSeconds.Count / 2);
        Console.WriteLine($"{label}: {median:F1} tokens/s median of {steps} (best {rates.Max():F1}); peak working set {process.PeakWorkingSet64 / 1e9:F2} GB; " +
                          $"threads {threads}");
        Console.WriteLine($"{label}: CPU time {cpuMedian:F2} CPU s a step (median), {tokens / cpuMedian:F1} tokens per CPU second; " +
                          $"{threads} threads with the machine to themselves would reach about {threads * tokens / cpuMedian:F1} tokens/s");
        return median;
    }
}
