using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;

namespace Dromedary.Model.Generation;

/// <summary>
/// The batched engine: many requests in flight over one paged KV cache, with continuous batching and a
/// shared-prefix cache that outlives a call (the principle prompt's blocks are computed once per engine). Requests
/// are admitted in order; results come back as requests finish. Too-long prompts are cut by
/// <see cref="PromptBudget"/>; one that cannot be cut to fit comes back at once, empty, as
/// <see cref="FinishReason.ContextFull"/>. One call at a time.
/// </summary>
public sealed class BatchedCompletionEngine : ICompletionEngine, IDisposable
{
    private readonly LlamaModel _model;
    private readonly TextTokenizer _tokenizer;
    private readonly PagedScheduler _scheduler;
    private readonly bool[] _wordInitial;

    public BatchedCompletionEngine(LlamaModel model, TextTokenizer tokenizer, EngineOptions options)
    {
        _model = model;
        _tokenizer = tokenizer;
        // Per model token id; ids a padded vocabulary has beyond the tokenizer's pieces start no word.
        _wordInitial = new bool[Math.Max(model.Config.VocabSize, tokenizer.WordInitial.Count)];
        for (var id = 0; id < tokenizer.WordInitial.Count; id++) _wordInitial[id] = tokenizer.WordInitial[id];
        _scheduler = new PagedScheduler(model, options);
    }

    /// <summary>The KV blocks and the prefix cache, for inspection (hits, references).</summary>
    public KvBlockPool Blocks => _scheduler.Pool;

    public IEnumerable<Completion> Complete(IEnumerable<CompletionRequest> requests, CancellationToken cancel = default)
    {
        using var source = requests.GetEnumerator();
        GenerationSequence? waiting = null;
        try
        {
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                while (_scheduler.HasRoom)
                {
                    if (waiting is null)
                    {
                        if (!source.MoveNext()) break;
                        var request = source.Current;
                        var prompt = Prepare(request);
                        if (prompt is null)
                        {
                            yield return new Completion(request.Id, "", [], FinishReason.ContextFull, _tokenizer.Encode(request.Prompt).Length);
                            continue;
                        }
                        waiting = new GenerationSequence(request, prompt, _tokenizer, _wordInitial, _scheduler.Context);
                    }
                    if (!_scheduler.TryAdmit(waiting)) break;
                    waiting = null;
                }
                if (_scheduler.Running == 0)
                {
                    if (waiting is null) yield break;
                    throw new DromedaryException($"request '{waiting.Request.Id}' needs {_scheduler.BlocksFor(waiting.MaxFed)} KV blocks " +
                                                 $"but the engine has {_scheduler.Pool.Blocks}; give it more KV blocks or fewer new tokens.");
                }
                foreach (var finished in _scheduler.Step())
                    yield return ((GenerationSequence)finished).Result!;
            }
        }
        finally
        {
            _scheduler.Abandon();
        }
    }

    /// <summary>The prompt's tokens within the budget, or null when it cannot fit.</summary>
    private int[]? Prepare(CompletionRequest request)
    {
        var options = request.Options;
        if (options.MaxNewTokens < 1) throw new DromedaryException($"request '{request.Id}': max new tokens must be at least 1, not {options.MaxNewTokens}.");
        options.Sampling.Validate();
        var prompt = PromptBudget.Fit(_tokenizer, request.Prompt, _scheduler.Context, options.MaxNewTokens);
        if (prompt is not null) Scoring.CheckIds(prompt, _model.Config.VocabSize);
        return prompt;
    }

    public void Dispose() => _scheduler.Dispose();
}
