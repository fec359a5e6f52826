using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;

namespace Dromedary.Model.Generation;

/// <summary>Why generation stopped.</summary>
public enum FinishReason
{
    EndOfSequence,
    StopString,
    MaxTokens,
    ContextFull,
}

public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    public IReadOnlyList<string> StopStrings { get; init; } = [];
}

public sealed record GenerationResult(int[] Tokens, string Text, FinishReason Finish, int PromptTokens);

/// <summary>
/// Generates a continuation of one prompt, streaming text as it becomes final (the batched engine with a shared
/// prefix cache builds on this for many prompts at once).
/// </summary>
public static class TextGeneration
{
    public static GenerationResult Run(LlamaModel model, TextTokenizer tokenizer, string prompt, GenerationOptions options, Action<string>? onText = null)
    {
        if (options.MaxNewTokens < 1) throw new DromedaryException($"max new tokens must be at least 1, not {options.MaxNewTokens}.");
        var prompted = tokenizer.Encode(prompt);
        var vocab = model.Config.VocabSize;
        Scoring.CheckIds(prompted, vocab);
        var capacity = Math.Min(model.Config.MaxPositions, prompted.Length + options.MaxNewTokens);
        if (prompted.Length >= capacity)
            throw new DromedaryException($"the prompt is {prompted.Length} tokens; the model's context of {model.Config.MaxPositions} leaves no room to generate.");

        using var session = new LlamaSession(model, capacity);
        var sampler = new TokenSampler(options.Sampling, tokenizer.WordInitial);
        var stops = new StopStrings(options.StopStrings);
        var decoder = new IncrementalDecoder(tokenizer, prompted);
        var logProbs = new float[vocab];
        var generated = new List<int>();
        var text = "";
        var shown = 0;
        var finish = FinishReason.MaxTokens;
        int[] next = [0];

        session.Forward(prompted, LogitsRows.Last, logProbs);
        while (true)
        {
            var id = sampler.Next(logProbs, generated);
            if (id == tokenizer.EosId)
            {
                finish = FinishReason.EndOfSequence;
                break;
            }
            generated.Add(id);
            text += decoder.Push(id);
            var stop = stops.FindStop(text);
            if (stop >= 0)
            {
                text = text[..stop];
                finish = FinishReason.StopString;
                break;
            }
            Show(ref shown, text, stops.SafeLength(text), onText);
            if (generated.Count == options.MaxNewTokens) break;
            if (session.Position == session.Capacity)
            {
                finish = FinishReason.ContextFull;
                break;
            }
            next[0] = id;
            session.Forward(next, LogitsRows.Last, logProbs);
        }
        Show(ref shown, text, text.Length, onText);
        return new GenerationResult([.. generated], text, finish, prompted.Length);
    }

    private static void Show(ref int shown, string text, int upTo, Action<string>? onText)
    {
        if (upTo <= shown) return;
        onText?.Invoke(text[shown..upTo]);
        shown = upTo;
    }
}
