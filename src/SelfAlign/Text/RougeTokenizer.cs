namespace Dromedary.SelfAlign.Text;

/// <summary>
/// rouge_score's default tokenizer (no stemmer): Python's str.lower(), every run of characters outside [a-z0-9]
/// becomes a space, split, empty tokens dropped. Python's lower() turns only two non-ASCII characters into ASCII
/// letters: U+0130 (İ → "i" + a combining dot, which then separates tokens) and U+212A (Kelvin sign → "k").
/// </summary>
public static class RougeTokenizer
{
    public static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        var current = new System.Text.StringBuilder();
        void Flush()
        {
            if (current.Length > 0) tokens.Add(current.ToString());
            current.Clear();
        }
        foreach (var c in text)
        {
            var lower = c switch
            {
                >= 'A' and <= 'Z' => (char)(c + 32),
                '\u212A' => 'k',
                '\u0130' => 'i',
                _ => c,
            };
            if (lower is >= 'a' and <= 'z' or >= '0' and <= '9') current.Append(lower);
            else Flush();
            if (c == '\u0130') Flush();
        }
        Flush();
        return tokens;
    }
}
