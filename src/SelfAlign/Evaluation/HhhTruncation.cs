using Dromedary.Model.Tokenization;

namespace Dromedary.SelfAlign.Evaluation;

/// <summary>
/// The HHH truncation rule (METHOD.md §7.3): every text is tokenised (no BOS); one longer than
/// (maxSeqLen − 256) / 3 tokens keeps only its last that many tokens and is marked with a prefix ("... " for the
/// input) or suffix ("..." for a reply). Every text, cut or not, is decoded back and stripped, as the original does.
/// </summary>
public sealed class HhhTruncation
{
    private readonly TextTokenizer _tokenizer;

    public HhhTruncation(TextTokenizer tokenizer, int maxSeqLen)
    {
        MaxTokens = (maxSeqLen - 256) / 3;
        if (MaxTokens <= 0) throw new DromedaryException($"--max-seq-len must be above 258 so that (max_seq_len - 256) / 3 is positive, not {maxSeqLen}.");
        _tokenizer = tokenizer;
    }

    /// <summary>The longest text kept whole, in tokens.</summary>
    public int MaxTokens { get; }

    public string Input(string text) => Truncate(text, "... ", "");

    public string Reply(string text) => Truncate(text, "", "...");

    private string Truncate(string text, string prefix, string suffix)
    {
        var tokens = _tokenizer.Encode(text, addBos: false);
        var cut = tokens.Length > MaxTokens;
        var kept = _tokenizer.Decode(cut ? tokens[^MaxTokens..] : tokens).Trim();
        return cut ? prefix + kept + suffix : kept;
    }
}
