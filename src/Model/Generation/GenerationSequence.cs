using Dromedary.Model.Tokenization;

namespace Dromedary.Model.Generation;

/// <summary>
/// One request in the batched engine: its prompt, its own sampler (and so its own random stream), and the text so
/// far, with the same stopping rules as <see cref="TextGeneration.Run"/> in the same order.
/// </summary>
internal sealed class GenerationSequence : PagedSequence
{
    private readonly TextTokenizer _tokenizer;
    private readonly TokenSampler _sampler;
    private readonly StopStrings _stops;
    private readonly IncrementalDecoder _decoder;
    private readonly List<int> _generated = [];
    private readonly int _context;
    private string _text = "";

    /// <param name="wordInitial">Per model token id, as <see cref="TextTokenizer.WordInitial"/> (the n-gram penalties use it).</param>
    public GenerationSequence(CompletionRequest request, int[] prompt, TextTokenizer tokenizer, IReadOnlyList<bool> wordInitial, int context)
        : base([.. prompt], prompt.Length - 1)
    {
        Request = request;
        PromptLength = prompt.Length;
        _tokenizer = tokenizer;
        _context = context;
        _sampler = new TokenSampler(request.Options.Sampling, wordInitial);
        _stops = new StopStrings(request.Options.StopStrings);
        _decoder = new IncrementalDecoder(tokenizer, prompt);
    }

    public CompletionRequest Request { get; }
    public int PromptLength { get; }
    public Completion? Result { get; private set; }

    public override int FeedEnd => Tokens.Count;

    /// <summary>The last generated token is never fed, and a sequence never feeds past the context.</summary>
    public override int MaxFed => Math.Min(PromptLength + Request.Options.MaxNewTokens - 1, _context);

    public override bool Accept(int position, ReadOnlySpan<float> logProbs)
    {
        var id = _sampler.Next(logProbs, _generated);
        if (id == _tokenizer.EosId) return Done(FinishReason.EndOfSequence);
        _generated.Add(id);
        _text += _decoder.Push(id);
        var stop = _stops.FindStop(_text);
        if (stop >= 0)
        {
            _text = _text[..stop];
            return Done(FinishReason.StopString);
        }
        if (_generated.Count == Request.Options.MaxNewTokens) return Done(FinishReason.MaxTokens);
        if (Tokens.Count == _context) return Done(FinishReason.ContextFull);
        Tokens.Add(id);
        return false;
    }

    private bool Done(FinishReason finish)
    {
        Result = new Completion(Request.Id, _text, [.. _generated], finish, PromptLength);
        return true;
    }
}
