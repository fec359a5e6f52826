namespace Dromedary.SelfAlign.Text;

/// <summary>
/// The instructions an instruction must differ from (METHOD.md §2.2 filter 4): a new one is similar when its
/// ROUGE-L F-measure against any instruction of the pool exceeds the threshold. Words are interned to ids once,
/// so a comparison is integer work only.
/// </summary>
public sealed class NoveltyPool
{
    /// <summary>Pools larger than this are scanned in parallel chunks.</summary>
    private const int ParallelFrom = 4096;

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly List<int[]> _entries = [];

    public int Count => _entries.Count;

    /// <summary>The verdict on one instruction: whether it is novel, and its mean F-measure over the pool when it is.</summary>
    public readonly record struct Verdict(bool Novel, double MaxScore, double MeanScore, int[] Tokens);

    public int[] Intern(string text)
    {
        var words = RougeTokenizer.Tokenize(text);
        var ids = new int[words.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            if (!_ids.TryGetValue(words[i], out var id)) _ids[words[i]] = id = _ids.Count;
            ids[i] = id;
        }
        return ids;
    }

    public void Add(int[] tokens) => _entries.Add(tokens);

    public void Add(string text) => Add(Intern(text));

    /// <summary>
    /// Compares with every pool entry; stops at the first score above <paramref name="threshold"/> (then the mean
    /// is not needed, so it is reported as NaN).
    /// </summary>
    public Verdict Judge(string instruction, double threshold)
    {
        var tokens = Intern(instruction);
        var count = _entries.Count;
        if (count == 0) return new Verdict(true, 0, 0, tokens);
        var chunks = count >= ParallelFrom ? Environment.ProcessorCount : 1;
        var chunkSize = (count + chunks - 1) / chunks;
        var sums = new double[chunks];
        var maxima = new double[chunks];
        var rejected = 0;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, chunk =>
        {
            var rouge = new RougeL(tokens);
            var end = Math.Min(count, (chunk + 1) * chunkSize);
            for (var i = chunk * chunkSize; i < end; i++)
            {
                var entry = _entries[i];
                var score = rouge.FMeasure(entry);
                sums[chunk] += score;
                if (score > maxima[chunk]) maxima[chunk] = score;
                if (score > threshold)
                {
                    Volatile.Write(ref rejected, 1);
                    return;
                }
                if ((i & 255) == 0 && Volatile.Read(ref rejected) != 0) return;
            }
        });
        var max = maxima.Max();
        return rejected != 0
            ? new Verdict(false, max, double.NaN, tokens)
            : new Verdict(true, max, sums.Sum() / count, tokens);
    }
}
