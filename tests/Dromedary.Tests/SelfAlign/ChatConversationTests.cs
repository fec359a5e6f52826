using Dromedary.SelfAlign.Prompts;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

/// <summary>A chat's history: the exchange cap, fitting the context by dropping the oldest turns, and /reset.</summary>
public sealed class ChatConversationTests
{
    private static readonly ChatPrompt Format = ChatPrompt.FromText("M\n### User", "test");

    [Fact]
    public void The_next_prompt_carries_the_finished_turns()
    {
        var chat = new ChatConversation(Format);
        chat.Add("q1", "a1");
        Assert.Equal("M\n### User\nq1\n\n### Dromedary\na1\n\n### User\nq2\n\n### Dromedary\n", chat.Prompt("q2", _ => true));
    }

    [Fact]
    public void Oldest_turns_are_dropped_until_the_prompt_fits()
    {
        var chat = new ChatConversation(Format);
        chat.Add("q1", "a1");
        chat.Add("q2", "a2");
        var prompt = chat.Prompt("q3", text => !text.Contains("q1"));
        Assert.Equal("M\n### User\nq2\n\n### Dromedary\na2\n\n### User\nq3\n\n### Dromedary\n", prompt);
        Assert.Equal([new ChatExchange("q2", "a2")], chat.History);
    }

    [Fact]
    public void A_turn_that_does_not_fit_alone_gives_no_prompt_and_keeps_the_history()
    {
        var chat = new ChatConversation(Format);
        chat.Add("q1", "a1");
        Assert.Null(chat.Prompt("far too long", text => !text.Contains("far too long")));
        Assert.Equal([new ChatExchange("q1", "a1")], chat.History);
    }

    [Fact]
    public void History_keeps_the_exchanges_a_prompt_can_hold_and_reset_clears_it()
    {
        var chat = new ChatConversation(Format);
        for (var i = 1; i <= 12; i++) chat.Add($"q{i}", $"a{i}");
        Assert.Equal(Enumerable.Range(4, 9).Select(i => $"q{i}"), chat.History.Select(exchange => exchange.User));
        chat.Reset();
        Assert.Equal("M\n### User\nhi\n\n### Dromedary\n", chat.Prompt("hi", _ => true));
    }
}
