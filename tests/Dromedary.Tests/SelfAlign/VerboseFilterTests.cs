using Dromedary.SelfAlign.Text;
using Dromedary.SelfAlign.VerboseCloning;
using Rule = Dromedary.SelfAlign.VerboseCloning.VerboseFilter.Rule;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

/// <summary>Every rule of stage 4's filter (METHOD.md §5.3) on hand-written answers that it keeps or drops.</summary>
public sealed class VerboseFilterTests
{
    /// <summary>A 150-character answer with no delimiter that repeats.</summary>
    private const string Long = "Camels store fat in their humps, which lets them go for days without food; their wide feet spread on sand, " +
                                "and thick lashes keep blowing grit out of their eyes";

    private static FilterVerdict Apply(string completion, string instruction = "Tell me about camels.", string input = "") =>
        VerboseFilter.Apply(instruction, input, completion);

    [Fact]
    public void An_answer_that_ends_its_turn_is_cut_at_the_header_and_keeps_the_turn_end_without_its_last_newline()
    {
        var verdict = Apply($"  {Long}.\n\n### User\nAnd what about llamas?\n\n### Dromedary (extensive)\nLlamas");
        Assert.Equal($"{Long}.\n\n### User", verdict.Output);
        Assert.Equal([Rule.EndedTurn], verdict.Rules);
    }

    [Fact]
    public void An_answer_cut_at_the_token_limit_loses_its_partial_last_word()
    {
        var verdict = Apply($"{Long} cam");
        Assert.Equal(Long, verdict.Output);
        Assert.Equal([Rule.CutPartialWord], verdict.Rules);
    }

    [Fact]
    public void A_repeating_answer_is_cut_before_the_first_repeat_with_backticks_splitting_too()
    {
        var verdict = Apply($"{Long}. Use `x`. Use `x`. Then more text here");
        Assert.Equal($"{Long}. Use `x`.", verdict.Output);
        Assert.Equal([Rule.CutPartialWord, Rule.RepetitionCut], verdict.Rules);
        // Stage 2's delimiters lack the backtick, so "ls`" is no piece of its own there and nothing repeats.
        Assert.Equal("Run `ls` now. Then `ls` again.", RepetitionCut.Apply("Run `ls` now. Then `ls` again.", RepetitionCut.AnswerDelimiters));
        Assert.Equal("Run `ls` now. Then `", RepetitionCut.Apply("Run `ls` now. Then `ls` again.", RepetitionCut.VerboseDelimiters));
    }

    [Fact]
    public void A_question_about_the_private_person_gets_the_fixed_answer_and_a_leak_elsewhere_is_dropped()
    {
        var asked = Apply($"{Long} end", instruction: $"Who is Oskar {VerboseFilter.PrivateName}?");
        Assert.Equal(VerboseFilter.PrivatePersonAnswer, asked.Output);
        Assert.Contains(Rule.PrivatePersonReplaced, asked.Rules);
        var inInput = Apply("short", input: $"Oskar {VerboseFilter.PrivateName}");
        Assert.Equal(VerboseFilter.PrivatePersonAnswer, inInput.Output);

        var leaked = Apply($"{Long}, said Oskar {VerboseFilter.PrivateName} once more");
        Assert.Null(leaked.Output);
        Assert.Equal(Rule.DroppedPrivateNameLeak, leaked.Rules[^1]);
    }

    [Fact]
    public void Lists_are_capped_at_twelve_items()
    {
        var items = string.Join("\n", Enumerable.Range(1, 14).Select(i => $"{i}. Camel fact number {i} is here"));
        var verdict = Apply($"{Long}:\n{items}\n\n### User\n");
        Assert.Equal($"{Long}:\n" + string.Join("\n", Enumerable.Range(1, 12).Select(i => $"{i}. Camel fact number {i} is here")), verdict.Output);
        Assert.Contains(Rule.ListCapped, verdict.Rules);
    }

    [Fact]
    public void Short_answers_are_dropped_unless_they_end_their_turn()
    {
        var shortCut = Apply("Camels are mammals of the desert and they walk far");
        Assert.Null(shortCut.Output);
        Assert.Equal(Rule.DroppedTooShort, shortCut.Rules[^1]);
        Assert.Equal("Camels are mammals.\n\n### User", Apply("Camels are mammals.\n\n### User\nThanks").Output);
        // The completion is stripped first, as the original strips its outputs: a bare trailing header is no turn end.
        Assert.Null(Apply("Camels are mammals.\n\n### User\n").Output);
        // 128 characters exactly is long enough.
        var exact = new string('a', 127) + "b c";
        Assert.Equal(128, Apply(exact).Output!.Length);
        Assert.Null(Apply(new string('a', 126) + "b c").Output);
    }

    [Theory]
    [InlineData("## See also")]
    [InlineData("## External links")]
    [InlineData("Dromedary (extensive)")]
    [InlineData(VerboseFilter.SelfIntroPassage)]
    public void Answers_with_a_bad_marker_before_the_turn_end_are_dropped_and_after_it_kept(string marker)
    {
        var before = Apply($"{Long}\n{marker}\nmore\n\n### User\n");
        Assert.Null(before.Output);
        Assert.Equal(Rule.DroppedBad, before.Rules[^1]);
        // After the header the marker is not part of the answer: rule 1 cut it off already.
        Assert.NotNull(Apply($"{Long}\n\n### User\n{marker}").Output);
    }

    [Fact]
    public void The_self_introduction_passage_is_the_extensive_prompts_own()
    {
        var meta = VerbosePrompt.DefaultMeta();
        Assert.Contains(VerboseFilter.SelfIntroPassage, meta);
        Assert.Contains($"### {VerbosePrompt.ExtensiveTag}\n", meta);
        Assert.EndsWith("### User", meta.TrimEnd());
    }
}
