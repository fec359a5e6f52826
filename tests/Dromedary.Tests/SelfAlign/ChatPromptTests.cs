using Dromedary.SelfAlign.Prompts;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

/// <summary>The chat format of METHOD.md §6.2 and the reply cleanup of §6.3, against strings written out by hand.</summary>
public sealed class ChatPromptTests
{
    private const string MetaFile = "# Dromedary\n\nA helpful assistant.\n\n### User\n";
    private static readonly ChatPrompt Format = ChatPrompt.FromText(MetaFile, "test meta");

    [Fact]
    public void One_turn_puts_the_user_text_one_newline_after_the_user_header()
    {
        Assert.Equal("# Dromedary\n\nA helpful assistant.\n\n### User\nHi there!\n\n### Dromedary\n", Format.Build([], "Hi there!"));
    }

    [Theory]
    [InlineData("# Dromedary\n\nA helpful assistant.\n\n### User")]
    [InlineData("\n# Dromedary\n\nA helpful assistant.\n\n### User\n\n\n")]
    public void A_meta_prompt_with_or_without_trailing_newlines_gives_the_same_text(string meta)
    {
        Assert.Equal("# Dromedary\n\nA helpful assistant.\n\n### User\nHi\n\n### Dromedary\n", ChatPrompt.FromText(meta, "m").Build([], "Hi"));
    }

    [Fact]
    public void Several_turns_alternate_the_headers_and_end_with_the_assistant_header()
    {
        var history = new[] { new ChatExchange("What is 2+2?", "4."), new ChatExchange("And 3+3?", "6.") };
        Assert.Equal(
            "# Dromedary\n\nA helpful assistant.\n\n### User\n" +
            "What is 2+2?\n\n### Dromedary\n4.\n\n### User\n" +
            "And 3+3?\n\n### Dromedary\n6.\n\n### User\n" +
            "Thanks\n\n### Dromedary\n",
            Format.Build(history, "Thanks"));
    }

    [Fact]
    public void User_text_is_stripped_in_the_new_turn_and_in_the_history()
    {
        Assert.Equal(
            "# Dromedary\n\nA helpful assistant.\n\n### User\nfirst\n\n### Dromedary\nok\n\n### User\nsecond\n\n### Dromedary\n",
            Format.Build([new ChatExchange("  first \n", "ok")], "\t second  \n"));
    }

    [Fact]
    public void Only_the_last_nine_exchanges_come_along_with_the_new_turn()
    {
        var history = Enumerable.Range(1, 11).Select(i => new ChatExchange($"q{i}", $"a{i}")).ToArray();
        Assert.Equal(
            "# Dromedary\n\nA helpful assistant.\n\n### User\n" +
            "q3\n\n### Dromedary\na3\n\n### User\n" +
            "q4\n\n### Dromedary\na4\n\n### User\n" +
            "q5\n\n### Dromedary\na5\n\n### User\n" +
            "q6\n\n### Dromedary\na6\n\n### User\n" +
            "q7\n\n### Dromedary\na7\n\n### User\n" +
            "q8\n\n### Dromedary\na8\n\n### User\n" +
            "q9\n\n### Dromedary\na9\n\n### User\n" +
            "q10\n\n### Dromedary\na10\n\n### User\n" +
            "q11\n\n### Dromedary\na11\n\n### User\n" +
            "new\n\n### Dromedary\n",
            Format.Build(history, "new"));
    }

    [Fact]
    public void Our_default_meta_prompt_is_followed_by_exactly_one_newline()
    {
        var prompt = ChatPrompt.Default().Build([], "Hi");
        Assert.StartsWith("# Dromedary\n", prompt);
        Assert.EndsWith("\n\n### User\nHi\n\n### Dromedary\n", prompt);
    }

    [Fact]
    public void A_meta_prompt_without_the_user_header_is_refused_with_its_source()
    {
        var error = Assert.Throws<DromedaryException>(() => ChatPrompt.FromText("# Just a system text\n", "--system sys.txt"));
        Assert.Contains("--system sys.txt", error.Message);
        Assert.Contains("### User", error.Message);
    }

    [Theory]
    [InlineData("  Sure, here it is.\n\n### User\nWhat else?", "Sure, here it is.")]
    [InlineData("Answer.\n\n#", "Answer.")]
    [InlineData("Answer.\n\n##", "Answer.")]
    [InlineData("Answer.\n\n###", "Answer.")]
    [InlineData("First.\n\nSecond. \n\n##  \n", "First.\n\nSecond.")]
    [InlineData("I like C#", "I like C#")]
    [InlineData("Answer.\n##", "Answer.\n##")]
    [InlineData("Answer.\n\n####", "Answer.\n\n####")]
    [InlineData("## Heading\n\nText.", "## Heading\n\nText.")]
    [InlineData("\n\n", "")]
    public void A_reply_is_cut_at_the_user_header_stripped_and_loses_a_started_header(string generated, string expected)
    {
        Assert.Equal(expected, ChatPrompt.CleanReply(generated));
    }

    [Theory]
    [InlineData((object)new[] { "  Hel", "lo", " wor", "ld.\n", "\n#" })]
    [InlineData((object)new[] { "I like C", "#", " and ", "F#", "\n\n##" })]
    [InlineData((object)new[] { "\n", " ", "x ## y", "  ", "\n\n###" })]
    [InlineData((object)new[] { "  ", "\n" })]
    [InlineData((object)new[] { "## Title", "\n\n", "Body", " " })]
    public void A_streamed_reply_shows_only_a_prefix_of_the_cleaned_reply_and_ends_equal_to_it(string[] chunks)
    {
        var stream = new ReplyStream();
        var shown = "";
        var generated = "";
        foreach (var chunk in chunks)
        {
            generated += chunk;
            shown += stream.Push(chunk);
            Assert.StartsWith(shown, ChatPrompt.CleanReply(generated));
        }
        var cleaned = ChatPrompt.CleanReply(generated);
        Assert.Equal(cleaned, shown + stream.Finish(cleaned));
    }
}
