using Dromedary.Kernels.Cpu;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;

namespace Dromedary.Model.Inference;

/// <summary>Why generation stopped.</summary>
public enum FinishReason
{
    EndOfSequence,
    MaxTokens,
    ContextFull,
}

public sealed record GenerationResult(int[] Tokens, string Text, FinishReason Finish, int PromptTokens);

/// <summary>Greedy decoding of one prompt, streaming text as it comes (sampling arrives with the generation engine).</summary>
public static class GreedyGeneration
{
    public static GenerationResult Run(LlamaModel model, TextTokenizer tokenizer, string prompt, int maxNewTokens, Action<string>? onText = null)
    {
        var prompted = tokenizer.Encode(prompt);
        var vocab = model.Config.VocabSize;
        Scoring.CheckIds(prompted, vocab);
        var capacity = Math.Min(model.Config.MaxPositions, prompted.Length + maxNewTokens);
        if (prompted.Length >= capacity)
            throw new DromedaryException($"the prompt is {prompted.Length} tokens; the model's context of {model.Config.MaxPositions} leaves no room to generate.");
        using var session = new LlamaSession(model, capacity);
        var logProbs = new float[vocab];
        var decoder = new IncrementalDecoder(tokenizer, prompted);
        var generated = new List<int>();
        var text = new System.Text.StringBuilder();
        var finish = FinishReason.MaxTokens;
        int[] next = [0];

        session.Forward(prompted, LogitsRows.Last, logProbs);
        while (generated.Count < maxNewTokens)
        {
            var id = CpuLogSoftmax.Argmax(logProbs);
            if (id == tokenizer.EosId)
            {
                finish = FinishReason.EndOfSequence;
                break;
            }
            generated.Add(id);
            var piece = decoder.Push(id);
            text.Append(piece);
            if (piece.Length > 0) onText?.Invoke(piece);
            if (generated.Count == maxNewTokens) break;
            if (session.Position == session.Capacity)
            {
                finish = FinishReason.ContextFull;
                break;
            }
            next[0] = id;
            session.Forward(next, LogitsRows.Last, logProbs);
        }
        return new GenerationResult([.. generated], text.ToString(), finish, prompted.Length);
    }
}
