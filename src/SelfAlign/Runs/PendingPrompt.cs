using Dromedary.Model.Generation;

namespace Dromedary.SelfAlign.Runs;

/// <summary>
/// A prompt a stage wants completed, with the fields its raw record keeps for parsing later. The text is built
/// only when the prompt is sent: a shard's stage-2 prompts, each holding the whole principles prefix, would not
/// all fit in memory at once.
/// </summary>
public sealed record PendingPrompt(string Id, IReadOnlyDictionary<string, string> Fields, Func<string> Text, GenerationOptions Options)
{
    public CompletionRequest Request() => new(Id, Text(), Options);
}
