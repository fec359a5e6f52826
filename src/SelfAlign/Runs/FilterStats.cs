using System.Text.Json.Nodes;

namespace Dromedary.SelfAlign.Runs;

/// <summary>Counts per post-processing rule, in the order rules first fire, saved as stats.json.</summary>
public sealed class FilterStats
{
    private readonly OrderedDictionary<string, long> _counts = [];

    public void Add(string rule, long count = 1)
    {
        _counts.TryGetValue(rule, out var before);
        _counts[rule] = before + count;
    }

    public void Set(string name, long count) => _counts[name] = count;

    public long this[string rule] => _counts.TryGetValue(rule, out var count) ? count : 0;

    public IReadOnlyDictionary<string, long> Counts => _counts;

    public JsonObject ToJson()
    {
        var json = new JsonObject();
        foreach (var (rule, count) in _counts) json[rule] = count;
        return json;
    }
}
