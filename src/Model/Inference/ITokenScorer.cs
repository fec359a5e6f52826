namespace Dromedary.Model.Inference;

/// <summary>A continuation to score after a context, both as token ids (the context starts with BOS).</summary>
public sealed record ScoringRequest(int[] Context, int[] Continuation);

/// <summary>
/// The log-likelihood primitive of evaluation (METHOD.md §7.1, with the diagonal gathered): for each request,
/// log p(continuation[i] | context, continuation[..i]) for every i, in request order.
/// </summary>
public interface ITokenScorer
{
    IReadOnlyList<float[]> Score(IReadOnlyList<ScoringRequest> requests, CancellationToken cancel = default);
}
