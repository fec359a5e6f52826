using Microsoft.ML.Tokenizers;

namespace Dromedary.Model.Tokenization;

/// <summary>
/// LLaMA's SentencePiece BPE tokenizer (<c>tokenizer.model</c>, byte fallback). BOS is prepended and EOS is not,
/// as the method does for generation, scoring and training. We add BOS ourselves because the library omits it
/// for the empty string, where SentencePiece gives [BOS].
/// </summary>
public sealed class TextTokenizer
{
    private readonly LlamaTokenizer _tokenizer;
    private readonly string[] _pieces;

    private TextTokenizer(LlamaTokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        _pieces = new string[tokenizer.Vocabulary.Values.Max() + 1];
        foreach (var (piece, id) in tokenizer.Vocabulary) _pieces[id] = piece;
        WordInitial = _pieces.Select(piece => piece is { Length: > 1 } && piece[0] == WordBoundary).ToArray();
    }

    /// <summary>SentencePiece's mark for a space at the start of a piece.</summary>
    public const char WordBoundary = '\u2581';

    /// <summary>Per id: does the piece start a word ("▁the"; "▁" alone does not)? The n-gram penalties use it.</summary>
    public IReadOnlyList<bool> WordInitial { get; }

    public int BosId => _tokenizer.BeginningOfSentenceId;
    public int EosId => _tokenizer.EndOfSentenceId;
    public int VocabSize => _pieces.Length;

    /// <summary>Loads <c>tokenizer.model</c> from a model folder or a path to the file itself.</summary>
    public static TextTokenizer Load(string path)
    {
        if (!Directory.Exists(path) && !File.Exists(path))
            throw new DromedaryException($"{path}: no such model folder or tokenizer file.");
        var file = Directory.Exists(path) ? Path.Combine(path, "tokenizer.model") : path;
        if (!File.Exists(file))
            throw new DromedaryException($"{file}: not found; Dromedary needs LLaMA's SentencePiece tokenizer.model beside the weights.");
        try
        {
            using var stream = File.OpenRead(file);
            return new TextTokenizer(LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false));
        }
        catch (Exception e) when (e is not DromedaryException)
        {
            throw new DromedaryException($"{file}: not a SentencePiece model this tokenizer can read ({e.Message}).");
        }
    }

    public int[] Encode(string text, bool addBos = true, bool addEos = false)
    {
        var ids = text.Length == 0 ? [] : _tokenizer.EncodeToIds(text, false, false, true, true);
        var result = new int[ids.Count + (addBos ? 1 : 0) + (addEos ? 1 : 0)];
        var at = 0;
        if (addBos) result[at++] = BosId;
        foreach (var id in ids) result[at++] = id;
        if (addEos) result[at] = EosId;
        return result;
    }

    /// <summary>Text of the ids, special tokens left out.</summary>
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids, considerSpecialTokens: false);

    /// <summary>The SentencePiece piece of one id, e.g. "▁Hello" or "&lt;0x0A&gt;".</summary>
    public string Piece(int id) =>
        (uint)id < (uint)_pieces.Length ? _pieces[id] ?? $"<{id}>" : throw new ArgumentOutOfRangeException(nameof(id));
}
