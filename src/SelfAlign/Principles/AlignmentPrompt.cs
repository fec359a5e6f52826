using System.Text.RegularExpressions;

namespace Dromedary.SelfAlign.Principles;

/// <summary>
/// The principle-driven prompt of stage 2 (METHOD.md §3.1), read from the original's layout: a "# Name" header,
/// a rules section with lines "N (short name). …", then an "## Examples" section whose exemplars are turns tagged
/// "User:", "Name (internal thoughts):", "Name:" and "Name (auto reply):", ending with a bare "User:". The
/// principles and the exemplars may come from one file (the original's) or two (ours: the part before "## Examples"
/// and the part from it on). <see cref="Text"/> is the shared prefix every query is appended to.
/// </summary>
public sealed partial class AlignmentPrompt
{
    public const string UserTag = "User";
    private const string ExamplesHeader = "## Examples";

    private AlignmentPrompt(string assistantName, string text, IReadOnlyList<Principle> principles, IReadOnlyList<Exemplar> exemplars)
    {
        AssistantName = assistantName;
        Text = text;
        Principles = principles;
        Exemplars = exemplars;
    }

    /// <summary>The codename the prompt gives the assistant ("Watson" in the original), from its "# Name" header.</summary>
    public string AssistantName { get; }

    /// <summary>The whole prompt, stripped, ending with "User:".</summary>
    public string Text { get; }

    public IReadOnlyList<Principle> Principles { get; }
    public IReadOnlyList<Exemplar> Exemplars { get; }

    /// <summary>Builds the prompt from a principles text and an exemplars text (null when the first holds both).</summary>
    /// <param name="principlesSource">Names the principles text in messages; likewise <paramref name="exemplarsSource"/>.</param>
    public static AlignmentPrompt Parse(string principles, string principlesSource, string? exemplars, string? exemplarsSource)
    {
        principles = Normalize(principles);
        var split = principles.IndexOf(ExamplesHeader, StringComparison.Ordinal);
        if (exemplars is null)
        {
            if (split < 0) throw new DromedaryException($"{principlesSource}: no \"{ExamplesHeader}\" section; give the exemplars with --exemplars.");
            exemplars = principles[split..];
            exemplarsSource = principlesSource;
        }
        var rules = (split >= 0 ? principles[..split] : principles).Trim();
        exemplars = Normalize(exemplars).Trim();
        if (!exemplars.StartsWith(ExamplesHeader, StringComparison.Ordinal))
            throw new DromedaryException($"{exemplarsSource}: must start with \"{ExamplesHeader}\".");
        var name = HeaderName(rules, principlesSource);
        var principleList = ParsePrinciples(rules, principlesSource);
        var exemplarList = ParseExemplars(exemplars, name, exemplarsSource!);
        // The model continues after a bare "User:", as in the original.
        var ending = $"\n\n{UserTag}:";
        if (exemplars.EndsWith(ending, StringComparison.Ordinal)) exemplars = exemplars[..^ending.Length].TrimEnd();
        return new AlignmentPrompt(name, rules + "\n\n" + exemplars + ending, principleList, exemplarList);
    }

    /// <summary>The prompt for one query (METHOD.md §3.2): " query", "\n\ninput" when there is one, then the thought tag.</summary>
    public string Build(string instruction, string input) =>
        Text + " " + instruction + (input.Length > 0 ? "\n\n" + input : "") + "\n\n" + ThoughtTag;

    public string ThoughtTag => $"{AssistantName} (internal thoughts):";
    public string AnswerTag => $"{AssistantName}:";
    public string AutoReplyTag => $"{AssistantName} (auto reply):";

    private static string Normalize(string text) => text.Replace("\r\n", "\n").Replace('\r', '\n');

    private static string HeaderName(string rules, string source)
    {
        var first = rules.Split('\n', 2)[0].Trim();
        if (!first.StartsWith("# ", StringComparison.Ordinal) || first.Length < 3)
            throw new DromedaryException($"{source}:1: the principles must start with a \"# Name\" header naming the assistant.");
        return first[2..].Trim();
    }

    private static List<Principle> ParsePrinciples(string rules, string source)
    {
        var principles = new List<Principle>();
        foreach (var line in rules.Split('\n'))
        {
            var match = PrincipleLine().Match(line);
            if (match.Success)
                principles.Add(new Principle(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[2].Value, match.Groups[3].Value.Trim()));
        }
        if (principles.Count == 0)
            throw new DromedaryException($"{source}: no principles found; each is a line \"N (short name). sentence\".");
        for (var i = 0; i < principles.Count; i++)
            if (principles[i].Number != i + 1)
                throw new DromedaryException($"{source}: principle \"{principles[i].Name}\" is numbered {principles[i].Number}, expected {i + 1}.");
        return principles;
    }

    private static List<Exemplar> ParseExemplars(string text, string name, string source)
    {
        var tags = new (string Tag, TurnRole Role)[]
        {
            ($"{name} (internal thoughts):", TurnRole.Thought),
            ($"{name} (auto reply):", TurnRole.AutoReply),
            ($"{name}:", TurnRole.Answer),
            ($"{UserTag}:", TurnRole.User),
        };
        var exemplars = new List<Exemplar>();
        List<ExemplarTurn>? turns = null;
        (TurnRole Role, List<string> Lines)? current = null;
        void Close()
        {
            if (current is not { } turn) return;
            var body = string.Join("\n", turn.Lines).Trim();
            if (turn.Role == TurnRole.User && body.Length == 0) return; // the closing bare "User:"
            turns!.Add(new ExemplarTurn(turn.Role, body));
        }
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            var tagged = tags.FirstOrDefault(t => line.StartsWith(t.Tag, StringComparison.Ordinal));
            if (tagged.Tag is null)
            {
                current?.Lines.Add(line);
                continue;
            }
            Close();
            var startsExemplar = tagged.Role == TurnRole.User && (turns is null || turns[^1].Role == TurnRole.AutoReply);
            if (startsExemplar)
            {
                turns = [];
                exemplars.Add(new Exemplar(turns));
            }
            else if (turns is null)
                throw new DromedaryException($"{source}: line {lineNumber} of the examples: an exemplar must open with \"{UserTag}:\".");
            current = (tagged.Role, [line[tagged.Tag.Length..]]);
        }
        Close();
        // The closing bare "User:" opened an exemplar with no turns.
        exemplars.RemoveAll(e => e.Turns.Count == 0);
        if (exemplars.Count == 0) throw new DromedaryException($"{source}: no exemplars found (turns start with \"{UserTag}:\").");
        foreach (var exemplar in exemplars)
        {
            var roles = exemplar.Turns.Select(t => t.Role).ToList();
            if (!roles.Contains(TurnRole.Thought) || !roles.Contains(TurnRole.Answer))
                throw new DromedaryException($"{source}: the exemplar \"{Shorten(exemplar.Query)}\" needs a \"{name} (internal thoughts):\" turn and a \"{name}:\" turn.");
        }
        return exemplars;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    [GeneratedRegex(@"^(\d+) \(([^)]*)\)\.\s*(.*)$")]
    private static partial Regex PrincipleLine();
}
