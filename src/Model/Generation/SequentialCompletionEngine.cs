using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;

namespace Dromedary.Model.Generation;

/// <summary>
/// The plain reference engine: one request at a time, each in its own session, in request order. Slow, but its
/// output is by construction what a request alone yields, so the batched engine is tested against it.
/// </summary>
public sealed class SequentialCompletionEngine(LlamaModel model, TextTokenizer tokenizer) : ICompletionEngine
{
    public IEnumerable<Completion> Complete(IEnumerable<CompletionRequest> requests, CancellationToken cancel = default)
    {
        foreach (var request in requests)
        {
            cancel.ThrowIfCancellationRequested();
            GenerationResult result;
            try
            {
                result = TextGeneration.Run(model, tokenizer, request.Prompt, request.Options);
            }
            catch (DromedaryException e)
            {
                // Among thousands of prompts, the user needs to know which one is too long.
                throw new DromedaryException($"request {request.Id}: {e.Message}", e);
            }
            yield return new Completion(request.Id, result.Text, result.Tokens, result.Finish, result.PromptTokens);
        }
    }
}
