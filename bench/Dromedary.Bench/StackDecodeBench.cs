using System.Diagnostics;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;

namespace Dromedary.Bench;

/// <summary>
/// Decode speed of a big LLaMA without its weights (65B on one GPU by default): stacks of 2 and 4 generated
/// layers of the preset's shape (int8, on the kernel set the registry picks), timed per token; the difference
/// gives the time of one layer, which is extrapolated to the full depth and set against the memory-bandwidth
/// bound (all int8 weights read once per token; 4.8 TB/s, an H200's HBM, unless told otherwise).
/// </summary>
internal static class StackDecodeBench
{
    private const int Prompt = 16, Decoded = 32;

    public static void Run(string preset = "llama-65b", double bytesPerSecond = 4.8e12)
    {
        var full = ModelPresets.All[preset];
        var (twoLayers, twoBytes, kernelsName) = SecondsPerToken(full with { Layers = 2 });
        var (fourLayers, fourBytes, _) = SecondsPerToken(full with { Layers = 4 });
        var perLayer = (fourLayers - twoLayers) / 2;
        var layerBytes = (fourBytes - twoBytes) / 2;
        var rest = twoLayers - 2 * perLayer;
        var estimate = rest + full.Layers * perLayer;
        var bound = (twoBytes - 2 * layerBytes + full.Layers * layerBytes) / bytesPerSecond;
        Console.WriteLine($"decode, {preset} shapes on {kernelsName}: {twoLayers * 1e3:F2} ms/token with 2 layers, {fourLayers * 1e3:F2} with 4; " +
                          $"{perLayer * 1e3:F3} ms per layer ({layerBytes / perLayer / 1e9:F0} GB/s of int8 weights)");
        Console.WriteLine($"decode, {preset} extrapolated to {full.Layers} layers: {estimate * 1e3:F1} ms/token = {1 / estimate:F1} tokens/s; " +
                          $"bandwidth bound ({bytesPerSecond / 1e9:F0} GB/s) {bound * 1e3:F1} ms/token = {1 / bound:F1} tokens/s ({bound / estimate:P0} of it)");
    }

    private static (double Seconds, long WeightBytes, string Kernels) SecondsPerToken(LlamaConfig config)
    {
        using var kernels = KernelRegistry.Create(null, Environment.ProcessorCount);
        using var model = LlamaModel.Load(config, new GeneratedWeights(config), kernels,
            new ModelLoadOptions(Precision.Int8, Context: Prompt + Decoded + 8));
        using var session = new LlamaSession(model, Prompt + Decoded + 8);
        var logProbs = new float[config.VocabSize];
        session.Forward(Enumerable.Range(3, Prompt).ToArray(), LogitsRows.Last, logProbs);
        int[] token = [7];
        session.Forward(token, LogitsRows.Last, logProbs); // warm-up: first launches compile and load kernels
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Decoded; i++) session.Forward(token, LogitsRows.Last, logProbs);
        return (clock.Elapsed.TotalSeconds / Decoded, model.LinearBytes, kernels.Name);
    }
}
