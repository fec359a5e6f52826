using Dromedary.Model.Inference;
using Dromedary.Model.Tokenization;

namespace Dromedary.SelfAlign.Evaluation;

/// <summary>
/// Log-likelihoods of target texts after prompts, as METHOD.md §7.1 defines them: the target's tokens are
/// encode(prompt + target, bos)[len(encode(prompt, bos)):], i.e. tokenised in context, and the score is the sum of
/// their log-probabilities, with no length normalisation. The context is that same full encoding's prefix.
/// </summary>
public sealed class LikelihoodScorer(TextTokenizer tokenizer, ITokenScorer scorer)
{
    public TextTokenizer Tokenizer => tokenizer;

    public double[] Score(IReadOnlyList<ScoredText> texts, CancellationToken cancel = default)
    {
        var requests = texts.Select(Request).ToArray();
        var logProbs = scorer.Score(requests, cancel);
        return logProbs.Select(row => row.Sum(value => (double)value)).ToArray();
    }

    private ScoringRequest Request(ScoredText text)
    {
        var promptLength = tokenizer.Encode(text.Prompt).Length;
        var full = tokenizer.Encode(text.Prompt + text.Target);
        if (full.Length <= promptLength)
            throw new DromedaryException($"the target \"{text.Target}\" adds no tokens to its prompt, so it has no likelihood to score.");
        return new ScoringRequest(full[..promptLength], full[promptLength..]);
    }
}
