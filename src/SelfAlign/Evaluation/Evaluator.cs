namespace Dromedary.SelfAlign.Evaluation;

/// <summary>
/// Runs planned items through the scorer one item at a time (an item's texts go to the scorer together, so a
/// batched scorer can share their prefix), journals each finished item beside the result file so an interrupted
/// run resumes, and writes the result file atomically at the end.
/// </summary>
public static class Evaluator
{
    /// <summary>The journal of a run writing <paramref name="resultPath"/>.</summary>
    public static string JournalPath(string resultPath) => resultPath + ".partial.jsonl";

    public static EvalReport Run(
        string benchmark, IReadOnlyDictionary<string, string?> settings, IReadOnlyList<ItemPlan> plans, LikelihoodScorer scorer,
        string resultPath, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default)
    {
        if (plans.Count == 0) throw new DromedaryException("nothing to evaluate: the data holds no items for the chosen protocol.");
        using var journal = EvalJournal.Open(JournalPath(resultPath), settings);
        var finished = journal.Finished.DistinctBy(item => item.Key).ToDictionary(item => item.Key);
        var results = new List<ItemResult>(plans.Count);
        foreach (var plan in plans)
        {
            if (!finished.TryGetValue(plan.Key, out var result))
            {
                var logLikelihoods = scorer.Score(plan.Texts, cancel);
                var outcome = plan.Decide(logLikelihoods);
                result = new ItemResult(plan.Protocol, plan.Group, plan.Index, plan.Question, plan.Choices,
                    logLikelihoods, outcome.Scores, outcome.Predicted, outcome.Credit);
                journal.Append(result);
            }
            results.Add(result);
            progress?.Report((results.Count, plans.Count));
        }
        var report = new EvalReport(benchmark, settings, EvalReport.Summarize(plans, results), results);
        EvalReportFile.Write(resultPath, report);
        journal.Complete();
        return report;
    }
}
