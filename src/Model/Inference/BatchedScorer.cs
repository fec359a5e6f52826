using Dromedary.Model.Generation;
using Dromedary.Model.Llama;

namespace Dromedary.Model.Inference;

/// <summary>
/// <see cref="ITokenScorer"/> on the batched engine's machinery: requests run together over the paged cache,
/// and contexts that start alike (an evaluation's shared instructions, a question scored with each of its
/// answers) share their cached prefix blocks, within a call and across calls.
/// </summary>
public sealed class BatchedScorer : ITokenScorer, IDisposable
{
    private readonly LlamaModel _model;
    private readonly PagedScheduler _scheduler;

    public BatchedScorer(LlamaModel model, EngineOptions options)
    {
        _model = model;
        _scheduler = new PagedScheduler(model, options);
    }

    /// <summary>The KV blocks and the prefix cache, for inspection (hits, references).</summary>
    public KvBlockPool Blocks => _scheduler.Pool;

    public IReadOnlyList<float[]> Score(IReadOnlyList<ScoringRequest> requests, CancellationToken cancel = default)
    {
        var scores = new float[requests.Count][];
        var next = 0;
        ScoringSequence? waiting = null;
        try
        {
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                while (_scheduler.HasRoom)
                {
                    if (waiting is null)
                    {
                        if (next == requests.Count) break;
                        waiting = Prepare(requests[next], next, scores);
                        next++;
                        if (waiting is null) continue;
                    }
                    if (!_scheduler.TryAdmit(waiting)) break;
                    waiting = null;
                }
                if (_scheduler.Running == 0)
                {
                    if (waiting is null) return scores;
                    throw new DromedaryException($"scoring request {waiting.Index} needs {_scheduler.BlocksFor(waiting.MaxFed)} KV blocks " +
                                                 $"but the scorer has {_scheduler.Pool.Blocks}; give it more KV blocks.");
                }
                _scheduler.Step();
            }
        }
        finally
        {
            _scheduler.Abandon();
        }
    }

    /// <summary>A sequence for the request, or null when there is nothing to score (its empty result is set here).</summary>
    private ScoringSequence? Prepare(ScoringRequest request, int index, float[][] scores)
    {
        var (context, continuation) = (request.Context, request.Continuation);
        if (context.Length == 0) throw new ArgumentException($"scoring request {index} has an empty context; it must start with BOS", nameof(request));
        int[] tokens = [.. context, .. continuation];
        Scoring.CheckIds(tokens, _model.Config.VocabSize);
        if (tokens.Length - 1 > _scheduler.Context)
            throw new DromedaryException($"scoring request {index} has {tokens.Length} tokens; the context holds {_scheduler.Context}.");
        scores[index] = new float[continuation.Length];
        return continuation.Length == 0 ? null : new ScoringSequence(tokens, context.Length, index, scores[index]);
    }

    public void Dispose() => _scheduler.Dispose();

    /// <summary>Feeds context + continuation but the last token; the log-prob of each continuation token lands in its result.</summary>
    private sealed class ScoringSequence(int[] tokens, int contextLength, int index, float[] result)
        : PagedSequence([.. tokens], contextLength - 1)
    {
        public int Index { get; } = index;

        public override int FeedEnd => Tokens.Count - 1;

        public override int MaxFed => Tokens.Count - 1;

        public override bool Accept(int position, ReadOnlySpan<float> logProbs)
        {
            result[position - LogitsFrom] = logProbs[Tokens[position + 1]];
            return position == FeedEnd - 1;
        }
    }
}
