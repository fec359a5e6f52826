using System.Text;

namespace Dromedary.SelfAlign.Prompts;

/// <summary>One finished turn of a chat: what the user said and Dromedary's cleaned reply.</summary>
public sealed record ChatExchange(string User, string Reply);

/// <summary>
/// The chat format of METHOD.md §6.2: <c>{meta}\n{u1}</c>, then alternately <c>\n\n### Dromedary\n{a1}</c> and
/// <c>\n\n### User\n{u2}</c>, ending with <c>\n\n### Dromedary\n</c>. The meta prompt is stripped and must end with
/// the "### User" header, so exactly one newline separates it from the first user text whether or not the file
/// ends with a newline.
/// </summary>
public sealed class ChatPrompt
{
    public const string UserHeader = "### User";
    public const string AssistantHeader = "### Dromedary";

    /// <summary>
    /// Exchanges in one prompt, counting the new user turn: the original keeps the last 20 history items, and the
    /// new turn and its empty reply are two of them, so 9 earlier exchanges come along.
    /// </summary>
    public const int MaxExchanges = 10;

    private readonly string _meta;

    private ChatPrompt(string meta) => _meta = meta;

    /// <param name="source">Where the text came from, for the error ("--system prompt.txt").</param>
    public static ChatPrompt FromText(string metaPrompt, string source)
    {
        var meta = metaPrompt.Trim();
        if (!meta.EndsWith(UserHeader, StringComparison.Ordinal))
            throw new DromedaryException($"{source}: a chat meta prompt must end with a \"{UserHeader}\" header line; the user's first turn follows it.");
        return new ChatPrompt(meta);
    }

    /// <summary>Our verbose meta prompt, the original's default for chat (METHOD.md §6.1).</summary>
    public static ChatPrompt Default() => FromText(EmbeddedPrompts.Read(EmbeddedPrompts.Verbose), EmbeddedPrompts.Verbose);

    public static ChatPrompt FromFile(string path) => FromText(EmbeddedPrompts.ReadFile(path), path);

    /// <summary>The prompt for a new user turn after <paramref name="history"/> (only its last <see cref="MaxExchanges"/> − 1 exchanges are used).</summary>
    public string Build(IReadOnlyList<ChatExchange> history, string user)
    {
        var text = new StringBuilder(_meta).Append('\n');
        foreach (var exchange in history.TakeLast(MaxExchanges - 1))
            text.Append(exchange.User.Trim()).Append($"\n\n{AssistantHeader}\n").Append(exchange.Reply).Append($"\n\n{UserHeader}\n");
        return text.Append(user.Trim()).Append($"\n\n{AssistantHeader}\n").ToString();
    }

    /// <summary>
    /// A generated reply as the chat keeps it (METHOD.md §6.3): cut at the user header, stripped, and a header
    /// the model had begun at the end ("\n\n#", "\n\n##", "\n\n###") removed with what precedes it of white space.
    /// </summary>
    public static string CleanReply(string generated)
    {
        var cut = generated.IndexOf(UserHeader, StringComparison.Ordinal);
        var reply = (cut >= 0 ? generated[..cut] : generated).Trim();
        if (reply.EndsWith("\n\n#", StringComparison.Ordinal) || reply.EndsWith("\n\n##", StringComparison.Ordinal)
            || reply.EndsWith("\n\n###", StringComparison.Ordinal))
            reply = reply[..reply.LastIndexOf("\n\n", StringComparison.Ordinal)].Trim();
        return reply;
    }
}
