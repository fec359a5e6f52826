namespace Dromedary.SelfAlign.Principles;

/// <summary>
/// METHOD.md §3.3 rule 3: the text is split after every one of \n . ? ! ; : , and kept up to the first piece that
/// repeats an earlier piece exactly; empty pieces and lone punctuation never count as repeats. This cuts the
/// loops a base model falls into.
/// </summary>
public static class RepetitionCut
{
    private const string Delimiters = "\n.?!;:,";

    public static string Apply(string text)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var start = 0;
        var end = 0;
        while (start < text.Length)
        {
            var stop = text.IndexOfAny(Delimiters.ToCharArray(), start);
            var next = stop < 0 ? text.Length : stop + 1;
            var piece = text[start..next];
            var body = piece.Trim();
            var counts = body.Length > 1 || (body.Length == 1 && !Delimiters.Contains(body[0]));
            if (counts && !seen.Add(piece)) break;
            end = next;
            start = next;
        }
        return text[..end].Trim();
    }
}
