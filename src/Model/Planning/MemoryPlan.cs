using Dromedary.Kernels;

namespace Dromedary.Model.Planning;

/// <summary>One line of a memory plan: what it is for, and its bytes.</summary>
public sealed record MemoryItem(string Category, string Name, long Bytes);

/// <summary>The memory a run needs, itemized; the categories are what `dromedary plan` prints.</summary>
/// <param name="int8">The int8 matmul calls its scratch line was sized for (null: fp32 weights, no scratch).</param>
public sealed class MemoryPlan(IReadOnlyList<MemoryItem> items, Int8MatMulBounds? int8 = null)
{
    public IReadOnlyList<MemoryItem> Items { get; } = items;

    /// <summary>What the kernel set sizes its int8 activation scratch for when it reserves this plan's total.</summary>
    public Int8MatMulBounds? Int8 { get; } = int8;

    public long Total => Items.Sum(i => i.Bytes);

    public IEnumerable<(string Category, long Bytes)> ByCategory() =>
        Items.GroupBy(i => i.Category).Select(g => (g.Key, g.Sum(i => i.Bytes)));

    /// <summary>Throws a message with the breakdown when the plan needs more than <paramref name="available"/> bytes.</summary>
    public void EnsureFits(long available, string where)
    {
        if (Total <= available) return;
        var parts = string.Join(", ", ByCategory().Select(c => $"{c.Category} {Format(c.Bytes)}"));
        throw new DromedaryException($"this run needs {Format(Total)} but {where} has {Format(available)} ({parts}); " +
                                     "try int8 weights, a shorter context or a smaller batch.");
    }

    public static string Format(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):F2} GiB" : $"{bytes / (double)(1 << 20):F1} MiB";

    /// <summary>Parses sizes like "141GB", "80GiB", "512MB" (GB and GiB both mean 2^30 here, as GPU specs do).</summary>
    public static long ParseSize(string text)
    {
        var trimmed = text.Trim().ToUpperInvariant();
        var units = new (string Suffix, long Scale)[] { ("GIB", 1L << 30), ("GB", 1L << 30), ("MIB", 1L << 20), ("MB", 1L << 20), ("B", 1) };
        foreach (var (suffix, scale) in units)
            if (trimmed.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(trimmed[..^suffix.Length], System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0)
                return (long)(value * scale);
        throw new DromedaryException($"'{text}' is not a memory size; write it like 141GB, 80GiB or 512MB.");
    }
}
