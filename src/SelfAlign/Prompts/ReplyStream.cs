using System.Text;

namespace Dromedary.SelfAlign.Prompts;

/// <summary>
/// Shows a reply while it is generated without ever showing what <see cref="ChatPrompt.CleanReply"/> will remove:
/// leading white space is skipped, and trailing white space and '#' (perhaps the start of a header) are held back
/// until text that is kept follows them. Everything shown is therefore a prefix of the cleaned reply.
/// </summary>
public sealed class ReplyStream
{
    private readonly System.Text.StringBuilder _generated = new();
    private int _shown;

    /// <summary>Takes newly generated text; returns the text to show now.</summary>
    public string Push(string text)
    {
        _generated.Append(text);
        var visible = _generated.ToString().TrimStart();
        var end = visible.Length;
        while (end > 0 && (char.IsWhiteSpace(visible[end - 1]) || visible[end - 1] == '#')) end--;
        if (end <= _shown) return "";
        var shown = visible[_shown..end];
        _shown = end;
        return shown;
    }

    /// <summary>The rest of the cleaned reply, once generation has ended.</summary>
    public string Finish(string cleanedReply) => cleanedReply[_shown..];
}
