using Dromedary.Model.Tokenization;

namespace Dromedary.Training.Data;

/// <summary>
/// Turns a record into tokens and labels as the original finetune.py does (METHOD.md §4.2): BOS + the tokens of
/// prompt + answer, encoded as one text and right-truncated at the cutoff; labels copy the ids, and the first
/// len(BOS + encode(prompt.rstrip())) of them are masked. Encoding the stripped prompt on its own, rather than
/// finding where the answer starts, is how the original counts the masked tokens, so the loss starts exactly
/// where it did there: at the newline after "### Dromedary".
/// </summary>
public sealed class ExampleBuilder
{
    private readonly TextTokenizer _tokenizer;
    private readonly ITrainingFormatter _formatter;
    private readonly int _cutoff;
    private readonly bool _trainOnInputs;
    private readonly bool _addEos;

    /// <param name="cutoff">Most tokens per example, BOS included (512 in stage 3, 768 in stage 4).</param>
    /// <param name="trainOnInputs">Count the prompt's tokens too; the method masks them.</param>
    /// <param name="addEos">Append EOS when there is room, as the original's add_eos_token; the method does not.</param>
    public ExampleBuilder(TextTokenizer tokenizer, ITrainingFormatter formatter, int cutoff, bool trainOnInputs = false, bool addEos = false)
    {
        if (cutoff < 2) throw new DromedaryException($"the cutoff must be at least 2 tokens, not {cutoff}.");
        _tokenizer = tokenizer;
        _formatter = formatter;
        _cutoff = cutoff;
        _trainOnInputs = trainOnInputs;
        _addEos = addEos;
    }

    public TokenizedExample Build(TrainingRecord record)
    {
        var (prompt, answer) = _formatter.Format(record);
        var ids = _tokenizer.Encode(prompt + answer);
        if (ids.Length > _cutoff) ids = ids[.._cutoff];
        if (_addEos && ids.Length < _cutoff && ids[^1] != _tokenizer.EosId) ids = [.. ids, _tokenizer.EosId];
        var labels = (int[])ids.Clone();
        if (!_trainOnInputs)
        {
            var masked = Math.Min(ids.Length, _tokenizer.Encode(prompt.TrimEnd()).Length);
            labels.AsSpan(0, masked).Fill(TokenizedExample.IgnoreLabel);
        }
        return new TokenizedExample(ids, labels);
    }
}
