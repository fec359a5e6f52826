using Dromedary.Model.Generation;
using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;

namespace Dromedary.Runner;

/// <summary>
/// The one place commands get a completion engine or a scorer from: the batched engine with the shared-prefix
/// cache. Open the model with <see cref="Options"/> (ModelOpener.Open's engine argument) so a device arena is
/// sized for the engine's paged cache too.
/// </summary>
internal static class CompletionEngines
{
    public static EngineOptions Options { get; } = new();

    public static ICompletionEngine Create(LlamaModel model, TextTokenizer tokenizer) => new BatchedCompletionEngine(model, tokenizer, Options);

    public static ITokenScorer CreateScorer(LlamaModel model) => new BatchedScorer(model, Options);
}
