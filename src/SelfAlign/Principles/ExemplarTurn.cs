namespace Dromedary.SelfAlign.Principles;

public enum TurnRole
{
    User,
    Thought,
    Answer,
    AutoReply,
}

/// <summary>One turn of an exemplar conversation (METHOD.md §3.1): its role and its text after the role tag, stripped.</summary>
public sealed record ExemplarTurn(TurnRole Role, string Text);

/// <summary>One exemplar: a conversation from the user's query to the assistant's auto reply.</summary>
public sealed record Exemplar(IReadOnlyList<ExemplarTurn> Turns)
{
    /// <summary>The user's query that opens the exemplar.</summary>
    public string Query => Turns[0].Text;
}
