using Dromedary.Kernels;
using Dromedary.Model.Tokenization;

namespace Dromedary.Training.Pretraining;

/// <summary>
/// A plain-text corpus as one token stream: documents are separated by a line holding only
/// <see cref="DocumentSeparator"/>; each becomes BOS + its tokens + EOS, and the documents are concatenated.
/// Training windows are cut from the stream at offsets drawn from (seed, step, index) alone, so a resumed run sees
/// exactly the windows an uninterrupted one would.
/// </summary>
public sealed class PretrainingCorpus
{
    public const string DocumentSeparator = "<|endoftext|>";

    private readonly int[] _tokens;

    private PretrainingCorpus(int[] tokens, int documents) => (_tokens, Documents) = (tokens, documents);

    public int Documents { get; }
    public int Tokens => _tokens.Length;

    public static PretrainingCorpus Load(string path, TextTokenizer tokenizer)
    {
        if (!File.Exists(path)) throw new DromedaryException($"{path}: corpus file not found.");
        var tokens = new List<int>();
        var documents = 0;
        var document = new List<string>();
        void Flush()
        {
            var body = string.Join('\n', document).Trim('\n');
            document.Clear();
            if (body.Length == 0) return;
            tokens.AddRange(tokenizer.Encode(body, addBos: true, addEos: true));
            documents++;
        }
        foreach (var line in File.ReadLines(path))
        {
            if (line.TrimEnd('\r') == DocumentSeparator) Flush();
            else document.Add(line.TrimEnd('\r'));
        }
        Flush();
        if (documents == 0) throw new DromedaryException($"{path}: the corpus holds no text.");
        return new PretrainingCorpus([.. tokens], documents);
    }

    /// <summary>Checks that windows of <paramref name="windowTokens"/> fit in the stream.</summary>
    public void CheckWindow(string path, int windowTokens)
    {
        if (_tokens.Length < windowTokens)
            throw new DromedaryException($"{path}: the corpus is {_tokens.Length} tokens, fewer than one window of {windowTokens} (--seq-len + 1).");
    }

    /// <summary>Window <paramref name="index"/> of optimizer step <paramref name="step"/>: <paramref name="length"/> consecutive tokens.</summary>
    public ReadOnlySpan<int> Window(ulong seed, int step, int index, int length)
    {
        var random = new SplitMix64(seed ^ ((ulong)step << 20 | (uint)index) * 0x9E3779B97F4A7C15UL);
        return _tokens.AsSpan(random.NextBelow(_tokens.Length - length + 1), length);
    }
}
