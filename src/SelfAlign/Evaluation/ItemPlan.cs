using System.Text.Json.Serialization;

namespace Dromedary.SelfAlign.Evaluation;

/// <summary>What a protocol concludes from one item's target log-likelihoods.</summary>
public sealed record ItemOutcome(double[] Scores, int Predicted, double Credit);

/// <summary>
/// One item of one protocol, ready to score: the texts whose log-likelihoods are needed, and the rule that turns
/// them into per-choice scores, a prediction and the credit (1/0 for a right/wrong pick, MC2's true mass).
/// Group is the HHH category, empty for TruthfulQA.
/// </summary>
public sealed record ItemPlan(
    string Protocol, string Metric, string Group, int Index, string Question, IReadOnlyList<string> Choices,
    IReadOnlyList<ScoredText> Texts, Func<double[], ItemOutcome> Decide)
{
    public (string Protocol, string Group, int Index) Key => (Protocol, Group, Index);
}

/// <summary>A scored item as the result file keeps it: the raw target log-likelihoods and the outcome.</summary>
public sealed record ItemResult(
    string Protocol, string Group, int Index, string Question, IReadOnlyList<string> Choices,
    double[] LogLikelihoods, double[] Scores, int Predicted, double Credit)
{
    /// <summary>Identifies the item within a run: the same key in two runs is the same question.</summary>
    [JsonIgnore]
    public (string Protocol, string Group, int Index) Key => (Protocol, Group, Index);
}
