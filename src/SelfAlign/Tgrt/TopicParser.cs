using Dromedary.SelfAlign.Runs;
using Dromedary.SelfAlign.Text;

namespace Dromedary.SelfAlign.Tgrt;

/// <summary>
/// Topic brainstorming's prompt, parsing and pooling (METHOD.md §2.3): topics are read from the completion's first 20
/// lines with any "N. " prefix removed, and kept when they have at most three words, start with an ASCII capital
/// and do not end in punctuation. A pool of topics is deduplicated per type ignoring case (first kept) and
/// balanced by cutting every type to the smallest type's count.
/// </summary>
public static class TopicParser
{
    public const int LinesRead = 20;
    private const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    public static class Rules
    {
        public const string Empty = "topic_empty";
        public const string TooManyWords = "topic_too_many_words";
        public const string NotCapitalized = "topic_not_capitalized";
        public const string EndsWithPunctuation = "topic_ends_with_punctuation";
        public const string Duplicate = "topic_duplicate";
        public const string Unbalanced = "topic_cut_by_balancing";
    }

    /// <summary>The template filled with the type, a blank line, then the listed topics numbered from 1, one per line.</summary>
    public static string Prompt(string metaPrompt, string questionType, IEnumerable<TypedTopic> listed) =>
        PythonFormat.Apply(metaPrompt, "the topic brainstorm prompt", questionType) + "\n\n"
            + string.Concat(listed.Select((t, i) => $"{i + 1}. {t.Topic}\n"));

    public static List<string> Parse(string completion, FilterStats stats)
    {
        var topics = new List<string>();
        foreach (var line in completion.Split('\n').Take(LinesRead))
        {
            var separator = line.IndexOf(". ", StringComparison.Ordinal);
            var topic = (separator < 0 ? line : line[(separator + 2)..]).Trim();
            var rule = topic.Length == 0 ? Rules.Empty
                : topic.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length > 3 ? Rules.TooManyWords
                : topic[0] is not (>= 'A' and <= 'Z') ? Rules.NotCapitalized
                : Punctuation.Contains(topic[^1]) ? Rules.EndsWithPunctuation
                : null;
            if (rule is null) topics.Add(topic);
            else stats.Add(rule);
        }
        return topics;
    }

    /// <summary>Dedups each type ignoring case and cuts every type to the smallest count; types keep their first-seen order.</summary>
    public static List<TypedTopic> DedupAndBalance(IEnumerable<TypedTopic> topics, FilterStats? stats)
    {
        var byType = new List<(string Type, List<TypedTopic> Topics, HashSet<string> Seen)>();
        foreach (var topic in topics)
        {
            var group = byType.FindIndex(g => g.Type == topic.QuestionType);
            if (group < 0)
            {
                byType.Add((topic.QuestionType, [], new HashSet<string>(StringComparer.OrdinalIgnoreCase)));
                group = byType.Count - 1;
            }
            if (byType[group].Seen.Add(topic.Topic)) byType[group].Topics.Add(topic);
            else stats?.Add(Rules.Duplicate);
        }
        if (byType.Count == 0) return [];
        var least = byType.Min(g => g.Topics.Count);
        stats?.Add(Rules.Unbalanced, byType.Sum(g => g.Topics.Count - least));
        return byType.SelectMany(g => g.Topics.Take(least)).ToList();
    }
}
