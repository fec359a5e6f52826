using System.Diagnostics;
using Dromedary.SelfAlign.Text;

namespace Dromedary.Bench;

/// <summary>
/// `rouge [pool size] [candidates]`: ROUGE-L comparisons per second of the Self-Instruct novelty filter against a
/// pool of synthetic instructions (Zipf-like words from a 3000-word vocabulary, 6–40 words each). Candidates are
/// fresh, so each is compared with the whole pool (the worst case: no early rejection).
/// </summary>
internal static class RougeBench
{
    public static int Run(string[] args)
    {
        var poolSize = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 300_000;
        var candidates = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 20;
        var random = new Random(1);
        var vocabulary = Enumerable.Range(0, 3000).Select(i => $"w{i}").ToArray();
        string Instruction() => string.Join(' ', Enumerable.Range(0, random.Next(6, 41))
            .Select(_ => vocabulary[(int)(vocabulary.Length * Math.Pow(random.NextDouble(), 3))]));

        var pool = new NoveltyPool();
        for (var i = 0; i < poolSize; i++) pool.Add(Instruction());
        var texts = Enumerable.Range(0, candidates).Select(_ => Instruction()).ToArray();
        pool.Judge(texts[0], 1.0); // warm-up
        var clock = Stopwatch.StartNew();
        var novel = 0;
        foreach (var text in texts)
            if (pool.Judge(text, 1.0).Novel) novel++;
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"pool {poolSize:N0}, {candidates} candidates ({novel} novel) on {Environment.ProcessorCount} threads: " +
            $"{seconds / candidates * 1e3:F1} ms per candidate, {candidates * (double)poolSize / seconds / 1e6:F2} M comparisons/s");
        return 0;
    }
}
