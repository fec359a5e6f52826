using Dromedary.Kernels;

namespace Dromedary.Training.Data;

/// <summary>Where a run stands in its data: the epoch and how many examples of that epoch's order are used. Checkpoints save it.</summary>
public readonly record struct DataCursor(int Epoch, int Position);

/// <summary>
/// The order examples are trained in: a fresh shuffle per epoch, fixed by the seed and the epoch number alone, so a
/// run resumed from a saved <see cref="DataCursor"/> sees exactly the examples an uninterrupted run would have.
/// The generator is our own SplitMix64, not System.Random, whose seeded sequence .NET does not promise to keep.
/// </summary>
public sealed class ExampleOrder
{
    private readonly int _seed;
    private int[] _order;

    public ExampleOrder(int count, int seed, DataCursor cursor = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (cursor.Epoch < 0 || cursor.Position < 0 || cursor.Position > count)
            throw new DromedaryException($"the data cursor (epoch {cursor.Epoch}, position {cursor.Position}) does not fit a data set of {count} examples.");
        Count = count;
        _seed = seed;
        Cursor = cursor;
        _order = Permutation(count, seed, cursor.Epoch);
    }

    public int Count { get; }

    public DataCursor Cursor { get; private set; }

    /// <summary>
    /// The next indices of the current epoch, at most <paramref name="batchSize"/>: fewer at the end of an epoch,
    /// as a DataLoader that keeps its last partial batch. The call after that starts the next epoch's order.
    /// </summary>
    public int[] NextBatch(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (Cursor.Position == Count)
        {
            Cursor = new DataCursor(Cursor.Epoch + 1, 0);
            _order = Permutation(Count, _seed, Cursor.Epoch);
        }
        var taken = Math.Min(batchSize, Count - Cursor.Position);
        var batch = _order.AsSpan(Cursor.Position, taken).ToArray();
        Cursor = Cursor with { Position = Cursor.Position + taken };
        return batch;
    }

    /// <summary>A Fisher–Yates shuffle of 0..count−1 for one (seed, epoch).</summary>
    public static int[] Permutation(int count, int seed, int epoch)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++) order[i] = i;
        var random = new SplitMix64(((ulong)(uint)seed << 32) | (uint)epoch);
        for (var i = count - 1; i > 0; i--)
        {
            var j = random.NextBelow(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
