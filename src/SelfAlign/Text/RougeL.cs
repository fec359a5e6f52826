using System.Numerics;

namespace Dromedary.SelfAlign.Text;

/// <summary>
/// ROUGE-L between token-id sequences, as rouge_score's _score_lcs computes it: LCS length, precision = lcs /
/// |prediction|, recall = lcs / |target|, F = 2PR / (P + R), 0 when either side is empty. The LCS uses the
/// bit-parallel recurrence of Hyyrö (2004): one machine word covers 64 target tokens, so a comparison costs
/// |prediction| × ⌈|target| / 64⌉ word operations.
/// </summary>
public sealed class RougeL
{
    private readonly int _length;
    private readonly int _words;
    private readonly Dictionary<int, ulong[]> _matches = [];
    private readonly ulong[] _row;

    /// <summary>Prepares comparisons of one target (the new instruction) against many predictions.</summary>
    public RougeL(ReadOnlySpan<int> target)
    {
        _length = target.Length;
        _words = (_length + 63) / 64;
        _row = new ulong[_words];
        for (var i = 0; i < target.Length; i++)
        {
            if (!_matches.TryGetValue(target[i], out var mask)) _matches[target[i]] = mask = new ulong[_words];
            mask[i >> 6] |= 1UL << (i & 63);
        }
    }

    public int Lcs(ReadOnlySpan<int> prediction)
    {
        if (_length == 0) return 0;
        var row = _row.AsSpan();
        row.Fill(ulong.MaxValue);
        foreach (var token in prediction)
        {
            // A token the target lacks leaves the row as it is.
            if (!_matches.TryGetValue(token, out var match)) continue;
            ulong carry = 0;
            for (var w = 0; w < _words; w++)
            {
                var v = row[w];
                var u = v & match[w];
                var sum = v + u;
                var next = sum + carry;
                carry = (sum < v || next < sum) ? 1UL : 0UL;
                row[w] = next | (v - u);
            }
        }
        // Zero bits among the target's positions count the LCS; bits past its end take carries and mean nothing.
        var ones = 0;
        for (var w = 0; w < _words - 1; w++) ones += BitOperations.PopCount(row[w]);
        var tail = _length - (_words - 1) * 64;
        var tailMask = tail == 64 ? ulong.MaxValue : (1UL << tail) - 1;
        ones += BitOperations.PopCount(row[_words - 1] & tailMask);
        return _length - ones;
    }

    public double FMeasure(ReadOnlySpan<int> prediction) => FMeasure(Lcs(prediction), _length, prediction.Length);

    /// <summary>The F-measure in rouge_score's floating-point order of operations, so ties at a threshold agree.</summary>
    public static double FMeasure(int lcs, int targetLength, int predictionLength)
    {
        if (targetLength == 0 || predictionLength == 0) return 0;
        var precision = (double)lcs / predictionLength;
        var recall = (double)lcs / targetLength;
        return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
    }
}
