using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace Dromedary.SelfAlign.Evaluation;

/// <summary>
/// The original's argmax with deterministic tie-breaking (METHOD.md §7.2): the indices holding the maximum, in
/// order; the SHA-256 of the whole score array as IEEE-754 float64 little-endian bytes (numpy's tobytes()), read
/// as a big-endian unsigned integer, modulo the number of those indices, picks one. Without a tie it is argmax.
/// </summary>
public static class TieBreak
{
    public static int Argmax(IReadOnlyList<double> scores)
    {
        if (scores.Count == 0) throw new ArgumentException("no scores to choose from", nameof(scores));
        var max = scores.Max();
        var best = Enumerable.Range(0, scores.Count).Where(i => scores[i] == max).ToArray();
        if (best.Length == 1) return best[0];
        var bytes = new byte[scores.Count * sizeof(double)];
        for (var i = 0; i < scores.Count; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), scores[i]);
        var digest = new BigInteger(SHA256.HashData(bytes), isUnsigned: true, isBigEndian: true);
        return best[(int)(digest % best.Length)];
    }
}
