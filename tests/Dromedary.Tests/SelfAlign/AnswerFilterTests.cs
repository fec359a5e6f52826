using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Principles;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

public class AnswerFilterTests
{
    private const string Opener = " I am a careful and truthful assistant. The user asks something. I should follow rules 2 (brief).";
    private const string Long = "Rivers carry water from hills to the sea. Along the way they shape valleys, feed farms and give homes to fish " +
        "and birds, so people have long settled beside them.";

    private static AnswerFilter Filter()
    {
        var prompt = SeedData.Prompt(SelfAlignFixtures.Path("principles.txt"), SelfAlignFixtures.Path("exemplars.txt"));
        return new AnswerFilter(prompt, LeakBlacklist.From(prompt, []), "Dromedary");
    }

    [Fact]
    public void A_natural_ending_is_cut_at_the_next_user_turn_and_marked()
    {
        var outcome = Filter().Apply(Opener + "\n\nSage: " + Long + "\n\nUser: Good job! Clear context\n\nSage (auto reply): Thanks!");
        Assert.Null(outcome.DroppedBy);
        Assert.Equal(Long + AnswerFilter.EndOfTurn, outcome.Answer);
    }

    [Fact]
    public void A_truncated_answer_loses_its_last_partial_word_and_gets_no_marker()
    {
        var outcome = Filter().Apply(Opener + "\n\nSage: Sage thinks rivers are long and wi");
        Assert.Equal("Dromedary thinks rivers are long and", outcome.Answer);
    }

    [Theory]
    [InlineData("I am a helpful assistant. Hi.\n\nSage: hello there friend", AnswerFilter.Rules.NoThought)]
    [InlineData(Opener + "\n\nSage (auto reply): hello there friend", AnswerFilter.Rules.NoAnswer)]
    [InlineData(Opener + "\n\nSage: Too short an answer.\n\nUser: next", AnswerFilter.Rules.TooShort)]
    [InlineData(Opener + "\n\nSage: I'm sorry, I cannot help with this one", AnswerFilter.Rules.Sorry)]
    [InlineData(Opener + "\n\nSage: I am sorry, I cannot help with this one", AnswerFilter.Rules.Sorry)]
    [InlineData(Opener + "\n\nSage:   ", AnswerFilter.Rules.Empty)]
    [InlineData(Opener + "\n\nSage: Market analysts publish forecasts that you could compare. Then more", AnswerFilter.Rules.Leak)]
    [InlineData(Opener + "\n\nSage: Well, Good job! now reverse it and more", AnswerFilter.Rules.Leak)]
    [InlineData(Opener + "\n\nSage: the list 7, 3, 9 sorted is here", AnswerFilter.Rules.Leak)]
    public void Each_rule_drops_its_case(string completion, string rule) => Assert.Equal(rule, Filter().Apply(completion).DroppedBy);

    [Fact]
    public void The_length_floor_counts_the_end_marker()
    {
        // 149 characters + the 11-character marker = 160: kept; one less: dropped.
        var answer = new string('a', 140) + " bcdefgh.";
        Assert.Equal(149, answer.Length);
        Assert.NotNull(Filter().Apply(Opener + "\n\nSage: " + answer + "\n\nUser: x").Answer);
        Assert.Equal(AnswerFilter.Rules.TooShort, Filter().Apply(Opener + "\n\nSage: " + answer[1..] + "\n\nUser: x").DroppedBy);
    }

    [Fact]
    public void Repetition_is_cut_at_the_first_repeated_piece()
    {
        Assert.Equal("Yes, it is. It rains. It is cold.", RepetitionCut.Apply("Yes, it is. It rains. It is cold. It rains. It is cold."));
        // Lone punctuation and empty pieces do not count as repeats.
        Assert.Equal("Wait... what?! Really, no", RepetitionCut.Apply("Wait... what?! Really, no"));
        Assert.Equal("1. one\n2. two", RepetitionCut.Apply("1. one\n2. two\n1. one\n"));
    }

    [Fact]
    public void The_wikipedia_recitation_opening_becomes_here()
    {
        var outcome = Filter().Apply(Opener + "\n\nSage: According to my knowledge from Wikipedia, here is what rivers do for the land and its people");
        Assert.Equal("Here is what rivers do for the land and its", outcome.Answer);
    }
}
