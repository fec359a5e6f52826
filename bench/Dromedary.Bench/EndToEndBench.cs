using System.Diagnostics;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;

namespace Dromedary.Bench;

/// <summary>
/// Prefill and decode tokens/s and peak memory of a mid-size random LLaMA (dim 2048, 16 layers, ffn 5632,
/// vocab 32000), int8 weights, against llama.cpp's Q8_0 figures on this machine (124 tokens/s prefill of
/// 128 tokens, 29 tokens/s decode, 2 threads).
/// </summary>
internal static class EndToEndBench
{
    private const double LlamaCppPrefill = 124, LlamaCppDecode = 29;
    private const int Rounds = 5;

    /// <summary>The mid-size model the end-to-end and train-step benchmarks share (one checkpoint on disk).</summary>
    public static readonly LlamaConfig MidSize = new()
    {
        HiddenSize = 2048, IntermediateSize = 5632, Heads = 16, KvHeads = 16, Layers = 16, VocabSize = 32000,
        MaxPositions = 2048, RmsNormEps = 1e-5,
    };

    public const string MidSizeName = "mid-2048x16";

    private static void Row(string phase, List<double> rates, double llamaCpp)
    {
        var median = rates.Order().ElementAt(rates.Count / 2);
        Console.WriteLine($"| {phase} | {median:F1} ({rates.Max():F1}) | {llamaCpp} | {median / llamaCpp:F2} |");
    }

    public static int Run(string[] args)
    {
        var threads = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2;
        var kernelsName = args.Length > 2 ? args[2] : null;
        const int promptTokens = 128, decodeTokens = 32;
        var config = MidSize;
        var directory = RandomCheckpoint.Ensure(config, MidSizeName);
        using var kernels = KernelRegistry.Create(kernelsName, threads);
        var load = Stopwatch.StartNew();
        using var model = LlamaModel.Load(directory, kernels, new ModelLoadOptions(Precision.Int8));
        Console.WriteLine($"kernels: {kernels.Name} ({kernels.Description}); loaded and quantized in {load.Elapsed.TotalSeconds:F1} s; " +
                          $"int8 weights {model.LinearBytes / 1e9:F2} GB");

        var random = new Random(7);
        var prompt = Enumerable.Range(0, promptTokens).Select(_ => random.Next(3, config.VocabSize)).ToArray();
        using var session = new LlamaSession(model, promptTokens + decodeTokens, maxChunk: promptTokens);
        var logProbs = new float[config.VocabSize];
        int[] next = [0];
        // Several rounds, reported as median and best: other tenants of a shared machine swing single runs.
        var prefillRates = new List<double>();
        var decodeRates = new List<double>();
        for (var round = 0; round < Rounds + 1; round++)
        {
            session.Reset();
            var clock = Stopwatch.StartNew();
            session.Forward(prompt, LogitsRows.Last, logProbs);
            var prefillSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            for (var i = 0; i < decodeTokens; i++)
            {
                next[0] = Dromedary.Kernels.Cpu.CpuLogSoftmax.Argmax(logProbs);
                session.Forward(next, LogitsRows.Last, logProbs);
            }
            if (round == 0) continue; // warm-up: JIT tiers and first touch of buffers
            prefillRates.Add(promptTokens / prefillSeconds);
            decodeRates.Add(decodeTokens / clock.Elapsed.TotalSeconds);
        }

        Console.WriteLine($"| phase | Dromedary tokens/s, median (best) of {Rounds} | llama.cpp Q8_0 tokens/s | ratio of medians |");
        Console.WriteLine("|---|---|---|---|");
        Row($"prefill ({promptTokens} tokens)", prefillRates, LlamaCppPrefill);
        Row($"decode ({decodeTokens} tokens)", decodeRates, LlamaCppDecode);
        Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / 1e9:F2} GB; threads: {threads}");
        return 0;
    }
}
