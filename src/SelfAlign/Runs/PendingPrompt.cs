using Dromedary.Model.Generation;

namespace Dromedary.SelfAlign.Runs;

/// <summary>A prompt a stage wants completed, with the fields its raw record keeps for parsing later.</summary>
public sealed record PendingPrompt(CompletionRequest Request, IReadOnlyDictionary<string, string> Fields);
