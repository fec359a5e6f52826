namespace Dromedary.SelfAlign.Prompts;

/// <summary>A chat's history and the prompt for its next turn, within the exchange cap and the model's context.</summary>
public sealed class ChatConversation(ChatPrompt format)
{
    /// <summary>
    /// Room a prompt must leave for the reply: at least min(max new tokens, this), the budget the original's
    /// generator keeps when it shortens prompts (METHOD.md §8.3).
    /// </summary>
    public const int MinReplyTokens = 64;

    private readonly List<ChatExchange> _history = [];

    public IReadOnlyList<ChatExchange> History => _history;

    /// <summary>
    /// The prompt for <paramref name="user"/>, forgetting the oldest exchanges until <paramref name="fits"/> accepts
    /// it; null, with the history kept, when even the turn alone does not fit.
    /// </summary>
    public string? Prompt(string user, Func<string, bool> fits)
    {
        for (var forgotten = 0; forgotten <= _history.Count; forgotten++)
        {
            var prompt = format.Build(_history[forgotten..], user);
            if (!fits(prompt)) continue;
            _history.RemoveRange(0, forgotten);
            return prompt;
        }
        return null;
    }

    /// <summary>Records a finished turn; history older than the prompt can hold is forgotten.</summary>
    public void Add(string user, string reply)
    {
        _history.Add(new ChatExchange(user, reply));
        if (_history.Count >= ChatPrompt.MaxExchanges) _history.RemoveAt(0);
    }

    public void Reset() => _history.Clear();
}
