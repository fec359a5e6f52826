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

    /// <summary>For each token id up to the target's largest, 1 + its row in <see cref="_masks"/>, or 0 when the target lacks it.</summary>
    private readonly int[] _slot;

    /// <summary>Per distinct target token, the bit mask of its positions (<see cref="_words"/> words each).</summary>
    private readonly ulong[] _masks;

    private readonly ulong[] _row;

    /// <summary>Prepares comparisons of one target (the new instruction) against many predictions.</summary>
    public RougeL(ReadOnlySpan<int> target)
    {
        _length = target.Length;
        _words = Math.Max(1, (_length + 63) / 64);
        _row = new ulong[_words];
        var largest = -1;
        foreach (var token in target) largest = Math.Max(largest, token);
        _slot = new int[largest + 1];
        var distinct = 0;
        foreach (var token in target)
            if (_slot[token] == 0) _slot[token] = ++distinct;
        _masks = new ulong[distinct * _words];
        for (var i = 0; i < target.Length; i++) _masks[(_slot[target[i]] - 1) * _words + (i >> 6)] |= 1UL << (i & 63);
    }

    public int Lcs(ReadOnlySpan<int> prediction)
    {
        if (_length == 0) return 0;
        return _words == 1 ? LcsOneWord(prediction) : LcsManyWords(prediction);
    }

    /// <summary>Targets of up to 64 tokens (nearly every instruction): the row fits one register.</summary>
    private int LcsOneWord(ReadOnlySpan<int> prediction)
    {
        var row = ulong.MaxValue;
        var slots = _slot;
        foreach (var token in prediction)
        {
            // A token the target lacks leaves the row as it is.
            if ((uint)token >= (uint)slots.Length || slots[token] == 0) continue;
            var u = row & _masks[slots[token] - 1];
            row = (row + u) | (row - u);
        }
        var mask = _length == 64 ? ulong.MaxValue : (1UL << _length) - 1;
        return _length - BitOperations.PopCount(row & mask);
    }

    private int LcsManyWords(ReadOnlySpan<int> prediction)
    {
        var row = _row.AsSpan();
        row.Fill(ulong.MaxValue);
        foreach (var token in prediction)
        {
            if ((uint)token >= (uint)_slot.Length || _slot[token] == 0) continue;
            var match = _masks.AsSpan((_slot[token] - 1) * _words, _words);
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
