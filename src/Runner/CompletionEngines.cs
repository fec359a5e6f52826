using Dromedary.Model.Generation;
using Dromedary.Model.Inference;
using Dromedary.Runner.Commands;

namespace Dromedary.Runner;

/// <summary>
/// The one place commands get a completion engine or a scorer from: the batched engine with the shared-prefix
/// cache, sized by the model options (--max-sequences, --kv-blocks). Open the model with the same
/// <see cref="ModelSettings.Engine"/> (ModelOpener.Open's engine argument) so a device arena holds its paged cache.
/// </summary>
internal static class CompletionEngines
{
    public static ICompletionEngine Create(ModelOpener opened, ModelSettings settings) =>
        new BatchedCompletionEngine(opened.Model, opened.Tokenizer, settings.Engine);

    public static ITokenScorer CreateScorer(ModelOpener opened, ModelSettings settings) => new BatchedScorer(opened.Model, settings.Engine);
}
