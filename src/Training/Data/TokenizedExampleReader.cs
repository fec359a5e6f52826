using System.Text.Json;

namespace Dromedary.Training.Data;

/// <summary>
/// Reads pre-tokenized examples, one JSON object per line: {"input_ids": [...], "labels": [...]} of equal
/// length, ids inside the vocabulary and each label −100 (not counted) or a token id. BOS, masking and truncation
/// are the file's business; every bad line is reported with its file and line.
/// </summary>
public static class TokenizedExampleReader
{
    public static IReadOnlyList<TokenizedExample> Read(string path, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        return JsonRecordFile.Read(path, allowArray: false, "tokenized examples",
            (record, problems) => Parse(record, vocabSize, problems));
    }

    private static TokenizedExample? Parse(JsonElement record, int vocabSize, List<string> problems)
    {
        var before = problems.Count;
        var ids = JsonFields.Integers(record, "input_ids", problems);
        var labels = JsonFields.Integers(record, "labels", problems);
        if (ids is null || labels is null) return null;
        if (ids.Length == 0) problems.Add("\"input_ids\" is empty");
        if (labels.Length != ids.Length)
            problems.Add($"\"labels\" has {labels.Length} entries but \"input_ids\" has {ids.Length}");
        var badId = Array.FindIndex(ids, id => (uint)id >= (uint)vocabSize);
        if (badId >= 0) problems.Add($"\"input_ids\"[{badId}] = {ids[badId]} is outside the vocabulary of {vocabSize}");
        var badLabel = Array.FindIndex(labels, label => label != TokenizedExample.IgnoreLabel && (uint)label >= (uint)vocabSize);
        if (badLabel >= 0)
            problems.Add($"\"labels\"[{badLabel}] = {labels[badLabel]} is neither {TokenizedExample.IgnoreLabel} nor a token id below {vocabSize}");
        return problems.Count == before ? new TokenizedExample(ids, labels) : null;
    }
}
