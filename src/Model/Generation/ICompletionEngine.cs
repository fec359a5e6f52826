namespace Dromedary.Model.Generation;

/// <summary>One prompt to complete. <see cref="Id"/> is the caller's key; the result carries it back.</summary>
/// <param name="Prompt">Text; the engine encodes it with BOS, as generation always does (METHOD.md §8.2).</param>
/// <param name="Options">Its own sampling, seed, stops and length: the output depends on these and the prompt only.</param>
public sealed record CompletionRequest(string Id, string Prompt, GenerationOptions Options);

/// <summary>A finished completion: the generated tokens and their text (cut before a stop string).</summary>
public sealed record Completion(string Id, string Text, int[] Tokens, FinishReason Finish, int PromptTokens);

/// <summary>
/// Completes many prompts. Results come back as each request finishes (not necessarily in request order); a
/// request's result does not depend on which other requests share its batch. The stages of the method and the
/// `generate` command talk to the engine through this.
/// </summary>
public interface ICompletionEngine
{
    IEnumerable<Completion> Complete(IEnumerable<CompletionRequest> requests, CancellationToken cancel = default);
}
