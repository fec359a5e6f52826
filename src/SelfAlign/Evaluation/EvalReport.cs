namespace Dromedary.SelfAlign.Evaluation;

/// <summary>One line of a run's summary: a protocol's metric over a group ("all", or an HHH category).</summary>
public sealed record SummaryRow(string Protocol, string Group, string Metric, double Value, int Count);

/// <summary>
/// The result of an evaluation run, as written to its JSON file: what was run (settings), the summary and every
/// item's log-likelihoods, scores and prediction.
/// </summary>
public sealed record EvalReport(
    string Benchmark, IReadOnlyDictionary<string, string?> Settings, IReadOnlyList<SummaryRow> Summary, IReadOnlyList<ItemResult> Items)
{
    public const string AllGroups = "all";

    /// <summary>Mean credit per protocol, per group when there are groups, and over all items.</summary>
    public static IReadOnlyList<SummaryRow> Summarize(IReadOnlyList<ItemPlan> plans, IReadOnlyList<ItemResult> items)
    {
        var metrics = plans.GroupBy(plan => plan.Protocol).ToDictionary(group => group.Key, group => group.First().Metric);
        var rows = new List<SummaryRow>();
        foreach (var protocol in items.GroupBy(item => item.Protocol))
        {
            var metric = metrics[protocol.Key];
            var groups = protocol.GroupBy(item => item.Group).Where(group => group.Key.Length > 0);
            rows.AddRange(groups.Select(group => new SummaryRow(protocol.Key, group.Key, metric, group.Average(item => item.Credit), group.Count())));
            rows.Add(new SummaryRow(protocol.Key, AllGroups, metric, protocol.Average(item => item.Credit), protocol.Count()));
        }
        return rows;
    }
}
