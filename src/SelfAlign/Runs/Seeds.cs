namespace Dromedary.SelfAlign.Runs;

/// <summary>
/// Random seeds derived per item, so an item's prompt and sampling depend on the run seed and the item's index
/// only: a resumed run regenerates exactly the prompts an uninterrupted one would have sent.
/// </summary>
public static class Seeds
{
    /// <summary>SplitMix64 of (seed, index).</summary>
    public static ulong For(int seed, long index, int stream = 0)
    {
        var z = ((ulong)(uint)seed << 32) ^ (ulong)index ^ ((ulong)(uint)stream << 48) ^ 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static Random Random(int seed, long index, int stream = 0) => new((int)(For(seed, index, stream) & int.MaxValue));

    /// <summary>The first <paramref name="count"/> items of a random permutation (random.sample: no repeats, random order).</summary>
    public static List<T> Sample<T>(Random random, IReadOnlyList<T> items, int count)
    {
        var order = Enumerable.Range(0, items.Count).ToArray();
        var taken = Math.Min(count, order.Length);
        for (var i = 0; i < taken; i++)
        {
            var j = random.Next(i, order.Length);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order.Take(taken).Select(i => items[i]).ToList();
    }

    public static List<T> Shuffle<T>(Random random, IReadOnlyList<T> items) => Sample(random, items, items.Count);
}
