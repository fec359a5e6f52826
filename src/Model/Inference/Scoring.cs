using Dromedary.Model.Llama;

namespace Dromedary.Model.Inference;

/// <summary>Log-probabilities of a token sequence under a model: the primitive behind `logprobs` and evaluation.</summary>
public static class Scoring
{
    /// <summary>
    /// Returns logprobs[i] = log p(tokens[i+1] | tokens[0..i]) for i in 0 .. tokens.Length - 2.
    /// </summary>
    public static float[] TokenLogProbs(LlamaModel model, ReadOnlySpan<int> tokens)
    {
        if (tokens.Length < 2) return [];
        var vocab = model.Config.VocabSize;
        CheckIds(tokens, vocab);
        using var session = new LlamaSession(model, tokens.Length);
        var rows = new float[(long)tokens.Length * vocab];
        session.Forward(tokens, LogitsRows.All, rows);
        var result = new float[tokens.Length - 1];
        for (var i = 0; i < result.Length; i++) result[i] = rows[(long)i * vocab + tokens[i + 1]];
        return result;
    }

    internal static void CheckIds(ReadOnlySpan<int> tokens, int vocab)
    {
        foreach (var id in tokens)
            if ((uint)id >= (uint)vocab)
                throw new DromedaryException($"token id {id} is outside the model's vocabulary of {vocab}; is the tokenizer the model's own?");
    }
}
