using Dromedary.Model.Llama;

namespace Dromedary.Model.Inference;

/// <summary>The plain reference scorer: one full forward of context + continuation per request, nothing shared.</summary>
public sealed class SequentialScorer(LlamaModel model) : ITokenScorer
{
    public IReadOnlyList<float[]> Score(IReadOnlyList<ScoringRequest> requests, CancellationToken cancel = default)
    {
        var scores = new float[requests.Count][];
        for (var i = 0; i < requests.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var (context, continuation) = (requests[i].Context, requests[i].Continuation);
            if (context.Length == 0) throw new ArgumentException($"scoring request {i} has an empty context; it must start with BOS", nameof(requests));
            var logProbs = Scoring.TokenLogProbs(model, [.. context, .. continuation]);
            scores[i] = logProbs[(context.Length - 1)..];
        }
        return scores;
    }
}
