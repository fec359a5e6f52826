using System.Globalization;

namespace Dromedary.SelfAlign.Runs;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> (0-based, "--shard 3/32"), as the original's generation groups:
/// it takes items Index, Index + Count, … of the input and seeds its random streams with seed + Index·128.
/// </summary>
public readonly record struct ShardSpec(int Index, int Count)
{
    public static ShardSpec Whole => new(0, 1);

    public bool IsWhole => Count == 1;

    public static ShardSpec Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            && count >= 1 && index < count)
            return new ShardSpec(index, count);
        throw new DromedaryException($"--shard must be INDEX/COUNT with 0 <= INDEX < COUNT (e.g. 0/4), not '{text}'.");
    }

    /// <summary>The original's per-group seed: seed + group_rank·128.</summary>
    public int Seed(int seed) => seed + Index * 128;

    public IEnumerable<T> Take<T>(IEnumerable<T> items)
    {
        var (index, count) = (Index, Count);
        return items.Where((_, i) => i % count == index);
    }

    /// <summary>The folder name of this shard inside a run directory.</summary>
    public string FolderName => $"shard-{Index}-of-{Count}";

    public override string ToString() => $"{Index}/{Count}";
}
