using System.Text.RegularExpressions;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.SelfInstruct;

/// <summary>A generated task: an instruction and its input ("" when none).</summary>
public sealed record GeneratedTask(string Instruction, string Input);

/// <summary>
/// Parses a Self-Instruct completion and applies the per-instruction filters of METHOD.md §2.2, in order: the
/// completion is read after "K+1. Instruction:" and cut at "###"; the last piece is dropped (generation ran to the
/// length limit, so it is truncated); a piece must split into exactly "N. Instruction:" and "N. Input:"; then the
/// word count (3 &lt; n ≤ 150), the keyword blacklist (whole words, any case, in instruction and input), and the first
/// character (not ASCII punctuation, not non-ASCII). The ROUGE-L novelty filter needs the pool and is applied after.
/// </summary>
public static class InstructionParser
{
    public static class Rules
    {
        public const string LastPiece = "last_piece_discarded";
        public const string Malformed = "malformed_piece";
        public const string TooShort = "too_few_words";
        public const string TooLong = "too_many_words";
        public const string Blacklisted = "blacklisted_word";
        public const string Punctuation = "starts_with_punctuation";
        public const string NonAscii = "starts_with_non_ascii";
    }

    public static readonly IReadOnlyList<string> Blacklist =
    [
        "image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps", "draw", "plot",
        "go to", "video", "audio", "music", "flowchart", "diagram",
    ];

    private static readonly Regex[] BlacklistPatterns =
        Blacklist.Select(word => new Regex($@"\b({Regex.Escape(word)})\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)).ToArray();

    /// <summary>Python's string.punctuation.</summary>
    private const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    /// <param name="demonstrations">K, the number of demonstrations in the prompt; the model continues at K+1.</param>
    public static List<GeneratedTask> Parse(string completion, int demonstrations, FilterStats stats)
    {
        var pieces = ($"{demonstrations + 1}. Instruction:" + completion).Split("###");
        var tasks = new List<GeneratedTask>();
        for (var i = 0; i < pieces.Length; i++)
        {
            if (i == pieces.Length - 1)
            {
                stats.Add(Rules.LastPiece);
                continue;
            }
            var number = i + demonstrations + 1;
            var parts = Regex.Split(pieces[i], $@"{number}\.\s+(Instruction|Input):");
            if (parts.Length != 5)
            {
                stats.Add(Rules.Malformed);
                continue;
            }
            var instruction = parts[2].Trim();
            var input = parts[4].Trim();
            if (input.Equals(SelfInstructPrompt.NoInput, StringComparison.OrdinalIgnoreCase)) input = "";
            if (Reject(instruction, input) is { } rule) stats.Add(rule);
            else tasks.Add(new GeneratedTask(instruction, input));
        }
        return tasks;
    }

    /// <summary>The first filter an instruction fails, or null.</summary>
    public static string? Reject(string instruction, string input)
    {
        var words = instruction.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (words <= 3) return Rules.TooShort;
        if (words > 150) return Rules.TooLong;
        if (BlacklistPatterns.Any(p => p.IsMatch(instruction) || p.IsMatch(input))) return Rules.Blacklisted;
        if (Punctuation.Contains(instruction[0])) return Rules.Punctuation;
        if (instruction[0] > '\u007F') return Rules.NonAscii;
        return null;
    }
}
