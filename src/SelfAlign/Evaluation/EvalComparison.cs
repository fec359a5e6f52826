namespace Dromedary.SelfAlign.Evaluation;

/// <summary>A summary line of two runs side by side; a value is null where that run lacks the line.</summary>
public sealed record ComparedRow(string Protocol, string Group, string Metric, double? A, double? B, int? CountA, int? CountB);

/// <summary>Per protocol: items present in both runs, and how many of them got different predictions.</summary>
public sealed record PredictionChanges(string Protocol, int Shared, int Changed);

/// <summary>Two evaluation results side by side (`dromedary eval compare`).</summary>
public sealed record EvalComparison(IReadOnlyList<ComparedRow> Rows, IReadOnlyList<PredictionChanges> Changes)
{
    public static EvalComparison Of(EvalReport a, EvalReport b)
    {
        if (a.Benchmark != b.Benchmark)
            throw new DromedaryException($"cannot compare a {a.Benchmark} result with a {b.Benchmark} result.");
        var bRows = b.Summary.ToDictionary(row => (row.Protocol, row.Group));
        var rows = a.Summary.Select(row =>
        {
            var other = bRows.GetValueOrDefault((row.Protocol, row.Group));
            return new ComparedRow(row.Protocol, row.Group, row.Metric, row.Value, other?.Value, row.Count, other?.Count);
        }).ToList();
        var aKeys = a.Summary.Select(row => (row.Protocol, row.Group)).ToHashSet();
        rows.AddRange(b.Summary.Where(row => !aKeys.Contains((row.Protocol, row.Group)))
            .Select(row => new ComparedRow(row.Protocol, row.Group, row.Metric, null, row.Value, null, row.Count)));

        var bItems = b.Items.DistinctBy(item => item.Key).ToDictionary(item => item.Key);
        var changes = a.Items.GroupBy(item => item.Protocol).Select(protocol =>
        {
            var shared = protocol.Where(item => bItems.ContainsKey(item.Key)).ToArray();
            return new PredictionChanges(protocol.Key, shared.Length, shared.Count(item => bItems[item.Key].Predicted != item.Predicted));
        }).Where(change => change.Shared > 0).ToArray();
        return new EvalComparison(rows, changes);
    }
}
