using System.Diagnostics;
using System.Globalization;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;

namespace Dromedary.Bench;

/// <summary>
/// A stage-2-like workload on the mid-size random model (as <see cref="EndToEndBench"/>): one long shared prompt
/// (~1,800 tokens, as the principle prompt), many short queries after it, completions of very different lengths
/// up to 256 tokens (EOS banned, so each runs to its limit), run by the batched engine with and without the
/// shared-prefix cache. Prints completions/s, generated tokens/s and the ratio. The text goes through the tiny
/// fixture's tokenizer (its 520 ids are valid in the 32000 vocabulary; the rest are banned by logit bias, as it
/// could not decode them); a random model's output is noise, but the work per token is the real one.
/// </summary>
internal static class GenerationBench
{
    private static readonly int[] NewTokens = [256, 32, 128, 64];

    public static int Run(string[] args)
    {
        var threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        var kernelsName = args.Length > 2 ? args[2] : null;
        var requestCount = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 8;
        const int sequences = 4, prefixTokens = 1800;
        var config = new LlamaConfig
        {
            HiddenSize = 2048, IntermediateSize = 5632, Heads = 16, KvHeads = 16, Layers = 16, VocabSize = 32000,
            MaxPositions = 2048, RmsNormEps = 1e-5,
        };
        var directory = RandomCheckpoint.Ensure(config, "mid-2048x16");
        var tokenizer = TextTokenizer.Load(FixtureTokenizer());
        var prefix = SharedPrefix(tokenizer, prefixTokens);
        // EOS banned, and the ids beyond the small tokenizer's pieces, which it could not decode.
        var banned = Enumerable.Range(tokenizer.VocabSize, config.VocabSize - tokenizer.VocabSize).Append(tokenizer.EosId).ToDictionary(id => id, _ => -100f);
        var noEos = new SamplingOptions { Temperature = 0.5f, TopP = 0.95f, LogitBias = banned };
        var requests = Enumerable.Range(0, requestCount).Select(i => new CompletionRequest($"q{i}",
            $"{prefix}\n\nUser: question number {i}, about the {Topics[i % Topics.Length]}?\n\nWatson (internal thoughts):",
            new GenerationOptions { MaxNewTokens = NewTokens[i % NewTokens.Length], Sampling = noEos with { Seed = (ulong)i + 1 } })).ToList();
        var blocks = sequences * ((config.MaxPositions + 15) / 16);

        Console.WriteLine($"workload: {requestCount} requests, shared prompt of {tokenizer.Encode(prefix).Length} tokens, new tokens cycling " +
                          $"{string.Join("/", NewTokens)}, {sequences} sequences at once, {blocks} KV blocks of 16; threads: {threads}");
        Console.WriteLine("| mode | seconds | completions/s | generated tokens/s | prefix blocks reused |");
        Console.WriteLine("|---|---|---|---|---|");
        var results = new List<(double Seconds, Dictionary<string, int[]> Tokens)>();
        foreach (var share in new[] { true, false })
        {
            var options = new EngineOptions { MaxSequences = sequences, KvBlocks = blocks, StepTokens = 256, SharePrefixes = share };
            using var kernels = KernelRegistry.Create(kernelsName, threads);
            using var model = LlamaModel.Load(directory, kernels, new ModelLoadOptions(Precision.Int8, Sequences: 0, Engine: options));
            using var engine = new BatchedCompletionEngine(model, tokenizer, options);
            var clock = Stopwatch.StartNew();
            var completions = engine.Complete(requests).ToList();
            var seconds = clock.Elapsed.TotalSeconds;
            var generated = completions.Sum(c => c.Tokens.Length);
            Console.WriteLine($"| {(share ? "shared prefix" : "no sharing")} | {seconds:F1} | {completions.Count / seconds:F3} | {generated / seconds:F1} | " +
                              $"{engine.Blocks.PrefixHits} |");
            results.Add((seconds, completions.ToDictionary(c => c.Id, c => c.Tokens)));
        }
        var same = results[0].Tokens.All(pair => pair.Value.SequenceEqual(results[1].Tokens[pair.Key]));
        Console.WriteLine($"speed-up from sharing: {results[1].Seconds / results[0].Seconds:F2}×; same tokens in both modes: {same}; " +
                          $"kernels: {kernelsName ?? "default"}; peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / 1e9:F2} GB");
        return 0;
    }

    private static readonly string[] Topics = ["weather", "moon", "history of tea", "rules of chess", "ocean", "number seven", "alphabet", "forest"];

    /// <summary>Numbered rules of plain text, as many as make about <paramref name="tokens"/> tokens.</summary>
    private static string SharedPrefix(TextTokenizer tokenizer, int tokens)
    {
        var lines = new List<string> { "# Watson", "Consider the following rules when you answer the user." };
        for (var i = 1; tokenizer.Encode(string.Join("\n", lines)).Length < tokens; i++)
            lines.Add($"{i}. Be helpful, honest and harmless; explain your steps, and say so when you do not know {i}.");
        return string.Join("\n", lines);
    }

    /// <summary>The tiny fixture's tokenizer.model, found above the build output (the bench runs from the repository).</summary>
    private static string FixtureTokenizer()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var file = Path.Combine(folder.FullName, "tests", "fixtures", "tiny-llama", "f32", "tokenizer.model");
            if (File.Exists(file)) return file;
        }
        throw new DromedaryException("tests/fixtures/tiny-llama/f32/tokenizer.model not found above the bench's folder.");
    }
}
