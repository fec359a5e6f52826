using Dromedary.Model.Tokenization;

namespace Dromedary.Model.Generation;

/// <summary>
/// Turns tokens into text as they are generated. It decodes the whole sequence each time and emits only what is
/// new, because SentencePiece drops the first piece's leading space and byte-fallback pieces only make a
/// character together; text ending in an incomplete character is held back until the character completes.
/// </summary>
public sealed class IncrementalDecoder(TextTokenizer tokenizer, IEnumerable<int> context)
{
    private readonly List<int> _ids = [.. context];
    private int _emitted = -1;

    public string Push(int id)
    {
        if (_emitted < 0) _emitted = tokenizer.Decode(_ids).Length;
        _ids.Add(id);
        var text = tokenizer.Decode(_ids);
        if (text.EndsWith('\uFFFD') || text.Length <= _emitted) return "";
        var fresh = text[_emitted..];
        _emitted = text.Length;
        return fresh;
    }
}
