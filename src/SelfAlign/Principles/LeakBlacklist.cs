using System.Text.RegularExpressions;

namespace Dromedary.SelfAlign.Principles;

/// <summary>
/// Text that betrays an answer copied from the in-context exemplars (METHOD.md §3.3 rule 5). The original listed
/// its markers by hand; here they come from the exemplars actually loaded: the role tags ("User:", "Name (auto
/// reply):"), every follow-up user turn ("Good job! …"), every sentence of four or more words from the exemplar
/// answers outside code, and each query's proper names (capitalised words after its first) and number lists (the
/// first three numbers), matched as whole words. Common nouns the original also listed ("weather") cannot be told
/// apart from ordinary words automatically; <c>extra</c> adds such markers.
/// </summary>
public sealed partial class LeakBlacklist
{
    private readonly List<string> _substrings;
    private readonly List<(string Word, Regex Pattern)> _words;

    public LeakBlacklist(IEnumerable<string> substrings, IEnumerable<string> words)
    {
        _substrings = substrings.Where(s => s.Length > 0).Distinct().ToList();
        _words = words.Distinct().Select(w => (w, new Regex($@"\b{Regex.Escape(w)}\b", RegexOptions.CultureInvariant))).ToList();
    }

    public IReadOnlyList<string> Substrings => _substrings;
    public IEnumerable<string> Words => _words.Select(w => w.Word);

    public static LeakBlacklist From(AlignmentPrompt prompt, IEnumerable<string> extra)
    {
        var substrings = new List<string> { $"{AlignmentPrompt.UserTag}:", prompt.AutoReplyTag };
        var words = new List<string>();
        foreach (var exemplar in prompt.Exemplars)
        {
            substrings.AddRange(exemplar.Turns.Skip(1).Where(t => t.Role == TurnRole.User).Select(t => t.Text));
            foreach (var answer in exemplar.Turns.Where(t => t.Role == TurnRole.Answer))
                substrings.AddRange(Sentences(answer.Text));
            words.AddRange(QueryTerms(exemplar.Query));
        }
        substrings.AddRange(extra);
        return new LeakBlacklist(substrings, words);
    }

    /// <summary>The first marker found in the text, or null.</summary>
    public string? Find(string text)
    {
        foreach (var marker in _substrings)
            if (text.Contains(marker, StringComparison.Ordinal)) return marker;
        foreach (var (word, pattern) in _words)
            if (pattern.IsMatch(text)) return word;
        return null;
    }

    /// <summary>Sentences of four or more words, outside ``` fences.</summary>
    private static IEnumerable<string> Sentences(string answer)
    {
        var prose = CodeFence().Replace(answer, "\n");
        foreach (Match sentence in Sentence().Matches(prose))
        {
            var text = sentence.Value.Trim();
            if (text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length >= 4) yield return text;
        }
    }

    private static IEnumerable<string> QueryTerms(string query)
    {
        var words = Word().Matches(query).Select(m => m.Value).ToList();
        foreach (var word in words.Skip(1))
            if (word.Length >= 3 && char.IsUpper(word[0])) yield return word;
        foreach (Match list in NumberList().Matches(query))
            yield return string.Join(", ", list.Value.Split(',').Take(3).Select(n => n.Trim()));
    }

    [GeneratedRegex(@"```.*?```", RegexOptions.Singleline)]
    private static partial Regex CodeFence();

    [GeneratedRegex(@"[^.?!\n]+[.?!]")]
    private static partial Regex Sentence();

    [GeneratedRegex(@"[\p{L}]+")]
    private static partial Regex Word();

    [GeneratedRegex(@"\d+(?:,\s*\d+){2,}")]
    private static partial Regex NumberList();
}
