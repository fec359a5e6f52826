using Dromedary.Model.Generation;
using Dromedary.SelfAlign.Prompts;

namespace Dromedary.SelfAlign.VerboseCloning;

/// <summary>
/// How stage 4 asks the stage-3 model for a verbose answer (METHOD.md §5.2): our "extensive" meta prompt, then
/// <c>\n{instruction}\n\n</c>, <c>{input}\n\n</c> when there is one, and the header <c>### Dromedary (extensive)</c>
/// with no newline after it; sampled at temperature 0.3, top-p 0.7, 512 new tokens, with tri- and 4-gram penalties
/// 1.0 and 2.0, no stop string.
/// </summary>
public static class VerbosePrompt
{
    public const string ExtensiveTag = "Dromedary (extensive)";
    public const int MaxNewTokens = 512;

    /// <summary>Our embedded extensive prompt.</summary>
    public static string DefaultMeta() => EmbeddedPrompts.Read(EmbeddedPrompts.Extensive);

    public static string Build(string meta, string instruction, string input) =>
        $"{meta.Trim()}\n{instruction}\n\n" + (input.Length > 0 ? $"{input}\n\n" : "") + $"### {ExtensiveTag}";

    public static GenerationOptions Generation(ulong seed, int maxNewTokens = MaxNewTokens) => new()
    {
        MaxNewTokens = maxNewTokens,
        Sampling = new SamplingOptions { Temperature = 0.3f, TopP = 0.7f, NgramPenalties = [0f, 0f, 1f, 2f], Seed = seed },
    };
}
