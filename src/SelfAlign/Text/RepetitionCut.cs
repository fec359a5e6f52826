namespace Dromedary.SelfAlign.Text;

/// <summary>
/// The original's dedup() (METHOD.md §3.3 rule 3, §5.3 rule 2): the text is split after every delimiter and kept up
/// to the first piece that exactly repeats an earlier one; empty pieces and lone delimiters never count as repeats.
/// The rest is rejoined and stripped. This cuts the loops a model falls into.
/// </summary>
public static class RepetitionCut
{
    /// <summary>Stage 2's split characters.</summary>
    public const string AnswerDelimiters = "\n.?!;:,";

    /// <summary>Stage 4's: stage 2's and the backtick.</summary>
    public const string VerboseDelimiters = AnswerDelimiters + "`";

    public static string Apply(string text, string delimiters)
    {
        var splitAt = delimiters.ToCharArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var end = 0;
        while (end < text.Length)
        {
            var stop = text.IndexOfAny(splitAt, end);
            var next = stop < 0 ? text.Length : stop + 1;
            var piece = text[end..next];
            var body = piece.Trim();
            var counts = body.Length > 1 || (body.Length == 1 && !delimiters.Contains(body[0]));
            if (counts && !seen.Add(piece)) break;
            end = next;
        }
        return text[..end].Trim();
    }
}
