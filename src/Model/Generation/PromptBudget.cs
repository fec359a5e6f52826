using Dromedary.Model.Tokenization;

namespace Dromedary.Model.Generation;

/// <summary>
/// The method's rule for prompts too long for the context (METHOD.md §8.3, prefix-cache mode): a prompt may take
/// at most context − min(max new tokens, 64) tokens; while it takes more, the text after its last newline (the
/// newline included) is dropped. A prompt with no newline left that still does not fit cannot be completed.
/// </summary>
public static class PromptBudget
{
    public static int Limit(int context, int maxNewTokens) => context - Math.Min(maxNewTokens, 64);

    /// <summary>The encoded prompt (with BOS) cut to fit, or null when no cut fits.</summary>
    public static int[]? Fit(TextTokenizer tokenizer, string prompt, int context, int maxNewTokens)
    {
        var limit = Limit(context, maxNewTokens);
        while (true)
        {
            var tokens = tokenizer.Encode(prompt);
            if (tokens.Length <= limit) return tokens;
            var newline = prompt.LastIndexOf('\n');
            if (newline < 0) return null;
            prompt = prompt[..newline];
        }
    }
}
