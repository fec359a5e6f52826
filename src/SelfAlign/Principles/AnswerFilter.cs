namespace Dromedary.SelfAlign.Principles;

/// <summary>
/// Turns a raw stage-2 completion into a training answer or a reason to drop it, by METHOD.md §3.3's rules in
/// order. The thought opener, the role tags and the leak markers come from the prompt actually used.
/// </summary>
public sealed class AnswerFilter(AlignmentPrompt prompt, LeakBlacklist blacklist, string newName)
{
    /// <summary>Appended to an answer that ended by itself: the end-of-turn marker stage 3 trains on.</summary>
    public const string EndOfTurn = "\n\n### User\n";

    /// <summary>Shortest naturally ended answer kept, in characters and counting <see cref="EndOfTurn"/>.</summary>
    public const int MinimumLength = 160;

    private const string RecitationOpening = "According to my knowledge from Wikipedia, here";

    public static class Rules
    {
        public const string NoThought = "no_thought_opener";
        public const string NoAnswer = "no_answer_tag";
        public const string TooShort = "too_short";
        public const string Leak = "exemplar_leak";
        public const string Sorry = "starts_with_sorry";
        public const string Empty = "empty";
    }

    /// <summary>The sentence every exemplar thought opens with ("I am a helpful, ethical, and reliable assistant.").</summary>
    public string ThoughtOpener { get; } = FirstSentence(prompt);

    public readonly record struct Outcome(string? Answer, string? DroppedBy, string? Marker);

    public Outcome Apply(string completion)
    {
        // Decoding the generated tokens alone drops the first piece's leading space, as the original's text did.
        var text = completion.StartsWith(' ') ? completion[1..] : completion;
        if (!text.StartsWith(ThoughtOpener, StringComparison.Ordinal)) return Drop(Rules.NoThought);
        var answerTag = "\n\n" + prompt.AnswerTag;
        var at = text.IndexOf(answerTag, StringComparison.Ordinal);
        if (at < 0) return Drop(Rules.NoAnswer);
        text = RepetitionCut.Apply(text[(at + answerTag.Length)..].Trim());
        var userTag = $"\n\n{AlignmentPrompt.UserTag}:";
        var end = text.IndexOf(userTag, StringComparison.Ordinal);
        if (end >= 0)
        {
            text = text[..end].Trim() + EndOfTurn;
            if (CodePoints(text) < MinimumLength) return Drop(Rules.TooShort);
        }
        else
        {
            // Cut at the length limit: the last word may be partial.
            var space = text.LastIndexOf(' ');
            if (space >= 0) text = text[..space];
        }
        if (blacklist.Find(text) is { } marker) return new Outcome(null, Rules.Leak, marker);
        if (text.StartsWith("I'm sorry", StringComparison.Ordinal) || text.StartsWith("I am sorry", StringComparison.Ordinal)) return Drop(Rules.Sorry);
        if (text.Length == 0) return Drop(Rules.Empty);
        text = text.Replace(prompt.AssistantName, newName, StringComparison.Ordinal);
        if (text.StartsWith(RecitationOpening, StringComparison.Ordinal)) text = "Here" + text[RecitationOpening.Length..];
        return new Outcome(text, null, null);
    }

    private static Outcome Drop(string rule) => new(null, rule, null);

    /// <summary>Python's len(): code points, not UTF-16 units.</summary>
    private static int CodePoints(string text) => text.EnumerateRunes().Count();

    private static string FirstSentence(AlignmentPrompt prompt)
    {
        var thought = prompt.Exemplars.SelectMany(e => e.Turns).First(t => t.Role == TurnRole.Thought).Text;
        var stop = thought.IndexOf(". ", StringComparison.Ordinal);
        return stop < 0 ? thought : thought[..(stop + 1)];
    }
}
