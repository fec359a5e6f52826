using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Data;

namespace Dromedary.SelfAlign.Principles;

/// <summary>
/// The final stage-2 data set (METHOD.md §3.3): the kept answers, then the identity examples, every record with a
/// 1-based running example_id — the original gave identity records none, which stage 3 cannot read (METHOD.md §10.4).
/// Identity answers written for the original (Vicuna by LMSYS) are renamed; the original's unseeded shuffle is left
/// out, since training orders its data itself.
/// </summary>
public static class AlignedSet
{
    public static List<JsonObject> Assemble(IEnumerable<JsonObject> kept, IReadOnlyList<IdentityExample> identity, string name)
    {
        var records = kept.Select(record => (JsonObject)record.DeepClone()).ToList();
        foreach (var example in identity)
            records.Add(new JsonObject
            {
                ["id"] = "identity",
                ["instruction"] = example.Question,
                ["input"] = "",
                ["output"] = Rename(example.Answer, name),
            });
        for (var i = 0; i < records.Count; i++) records[i]["example_id"] = i + 1;
        return records;
    }

    private static string Rename(string answer, string name) => answer
        .Replace("the Large Model Systems Organization (LMSYS)", "the Self-Align team, a joint effort between CMU and IBM", StringComparison.Ordinal)
        .Replace("Large Model Systems Organization (LMSYS)", "the Self-Align team, a joint effort between CMU and IBM", StringComparison.Ordinal)
        .Replace("Vicuna", name, StringComparison.Ordinal);
}
