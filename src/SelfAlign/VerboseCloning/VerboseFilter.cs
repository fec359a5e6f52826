using Dromedary.SelfAlign.Text;

namespace Dromedary.SelfAlign.VerboseCloning;

/// <summary>What the filter made of one verbose answer: the answer to train on (null when dropped) and the rules that acted.</summary>
public sealed record FilterVerdict(string? Output, IReadOnlyList<string> Rules);

/// <summary>
/// Stage 4's filter (METHOD.md §5.3), rule by rule and in its order, on one generated answer. Each rule that acts
/// is named in the verdict, so stats.json can count them. One change from the original: an answer that names our
/// private-person exemplar without being asked about it is dropped (counted) rather than stopping the whole run.
/// </summary>
public static class VerboseFilter
{
    public const string UserHeader = "### User";
    public const string TurnEnd = "\n\n### User\n";
    public const string ListCap = "\n13. ";
    public const int MinLength = 128;

    /// <summary>The private person of our stage-2 exemplar (src/SelfAlign/Data/self_align_prompt.txt), the original's "Zhiqing".</summary>
    public const string PrivateName = "Brennholt";

    /// <summary>The fixed answer for questions about that person (ours; no turn end, as the original's has none).</summary>
    public const string PrivatePersonAnswer =
        "I do not have specific information about every individual, and I cannot find anyone well known by that name; " +
        "they may be a private person. Could you give me a little more context, such as what they do or where you came " +
        "across them? Then I can try to help.";

    /// <summary>Two sentences of the extensive prompt's self-introduction: an answer that recites them copies the prompt.</summary>
    public const string SelfIntroPassage =
        "I put safety and ethics first, and I will steer away from anything that could hurt people. " +
        "I try to be genuinely useful, and I aim for reasoning that is careful and can be checked.";

    public static readonly IReadOnlyList<string> BadMarkers = ["## See also", "## External links", VerbosePrompt.ExtensiveTag, SelfIntroPassage];

    public static class Rule
    {
        public const string EndedTurn = "ended_turn";
        public const string CutPartialWord = "cut_partial_word";
        public const string RepetitionCut = "repetition_cut";
        public const string PrivatePersonReplaced = "private_person_replaced";
        public const string ListCapped = "list_capped_at_12";
        public const string DroppedPrivateNameLeak = "dropped_private_name_leak";
        public const string DroppedTooShort = "dropped_too_short";
        public const string DroppedBad = "dropped_bad";
    }

    public static FilterVerdict Apply(string instruction, string input, string completion)
    {
        var rules = new List<string>();
        var output = completion.Trim();
        var marker = output.IndexOf(UserHeader + "\n", StringComparison.Ordinal);
        if (marker >= 0)
        {
            output = output[..marker].Trim() + TurnEnd;
            rules.Add(Rule.EndedTurn);
        }
        else
        {
            // Cut at 512 tokens: the last word may be partial (Python's rsplit(" ", 1)[0]).
            var space = output.LastIndexOf(' ');
            if (space >= 0) output = output[..space];
            rules.Add(Rule.CutPartialWord);
        }
        // As in the original, the cut also strips the turn end's last newline: answers end in "### User".
        var cut = RepetitionCut.Apply(output, RepetitionCut.VerboseDelimiters);
        if (cut.Length < output.TrimEnd().Length) rules.Add(Rule.RepetitionCut);
        output = cut;

        if (instruction.Contains(PrivateName, StringComparison.Ordinal) || input.Contains(PrivateName, StringComparison.Ordinal))
        {
            output = PrivatePersonAnswer;
            rules.Add(Rule.PrivatePersonReplaced);
        }
        else if (output.Contains(PrivateName, StringComparison.Ordinal))
        {
            return Dropped(rules, Rule.DroppedPrivateNameLeak);
        }

        var list = output.IndexOf(ListCap, StringComparison.Ordinal);
        if (list >= 0)
        {
            output = output[..list];
            rules.Add(Rule.ListCapped);
        }
        var header = output.IndexOf(UserHeader, StringComparison.Ordinal);
        if (output.Length < MinLength && header < 0) return Dropped(rules, Rule.DroppedTooShort);
        var answer = header >= 0 ? output[..header] : output;
        if (BadMarkers.Any(bad => answer.Contains(bad, StringComparison.Ordinal))) return Dropped(rules, Rule.DroppedBad);
        return new FilterVerdict(output, rules);
    }

    private static FilterVerdict Dropped(List<string> rules, string rule)
    {
        rules.Add(rule);
        return new FilterVerdict(null, rules);
    }
}
