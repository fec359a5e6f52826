using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Principles;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

public class AlignmentPromptTests
{
    private static AlignmentPrompt Load() => SeedData.Prompt(SelfAlignFixtures.Path("principles.txt"), SelfAlignFixtures.Path("exemplars.txt"));

    [Fact]
    public void Principles_exemplars_and_turns_are_read()
    {
        var prompt = Load();
        Assert.Equal("Sage", prompt.AssistantName);
        Assert.Equal(["truthful", "brief", "careful"], prompt.Principles.Select(p => p.Name));
        Assert.Equal(2, prompt.Exemplars.Count);
        Assert.Equal("Sort these numbers for me\n\n7, 3, 9, 1", prompt.Exemplars[1].Query);
        Assert.Equal(
            [TurnRole.User, TurnRole.Thought, TurnRole.Answer, TurnRole.User, TurnRole.Thought, TurnRole.Answer, TurnRole.User, TurnRole.AutoReply],
            prompt.Exemplars[1].Turns.Select(t => t.Role));
        Assert.Equal("In ascending order:\n```\n1, 3, 7, 9\n```", prompt.Exemplars[1].Turns[2].Text);
        Assert.StartsWith("# Sage\n\n## General Rules\n", prompt.Text);
        Assert.EndsWith("Sage (auto reply): Thanks! Ask me anything else.\n\nUser:", prompt.Text);
    }

    [Fact]
    public void A_query_is_appended_after_user_with_its_input_and_the_thought_tag()
    {
        var prompt = Load();
        Assert.Equal(prompt.Text + " Add the numbers.\n\n2 and 3\n\nSage (internal thoughts):", prompt.Build("Add the numbers.", "2 and 3"));
        Assert.Equal(prompt.Text + " Say hello.\n\nSage (internal thoughts):", prompt.Build("Say hello.", ""));
    }

    [Fact]
    public void The_original_single_file_layout_reads_the_same()
    {
        using var temp = new TempDirectory();
        var combined = temp["watson_like.txt"];
        File.WriteAllText(combined, File.ReadAllText(SelfAlignFixtures.Path("principles.txt")).Replace("\n", "\r\n") + "\n" +
            File.ReadAllText(SelfAlignFixtures.Path("exemplars.txt")));
        var single = SeedData.Prompt(combined, null);
        Assert.Equal(Load().Text, single.Text);
    }

    [Fact]
    public void Leak_markers_come_from_the_loaded_exemplars()
    {
        var blacklist = LeakBlacklist.From(Load(), ["gold"]);
        Assert.Contains("User:", blacklist.Substrings);
        Assert.Contains("Sage (auto reply):", blacklist.Substrings);
        Assert.Contains("Good job! Clear context", blacklist.Substrings);
        Assert.Contains("Good job! now reverse it", blacklist.Substrings);
        Assert.Contains("Market analysts publish forecasts that you could compare.", blacklist.Substrings);
        Assert.Contains("gold", blacklist.Substrings);
        Assert.DoesNotContain(blacklist.Substrings, s => s.Contains("1, 3, 7, 9")); // code is not prose
        Assert.Equal(["7, 3, 9"], blacklist.Words);
        Assert.Equal("7, 3, 9", blacklist.Find("sorted 7, 3, 9 twice"));
        Assert.Null(blacklist.Find("17, 3, 99 are numbers"));
    }

    [Fact]
    public void Missing_parts_are_clear_errors()
    {
        var noHeader = Assert.Throws<DromedaryException>(() => AlignmentPrompt.Parse("Rules\n\n1 (a). b", "p.txt", "## Examples\n\nUser: x\n\nA (internal thoughts): t\n\nA: y\n\nUser:", "e.txt"));
        Assert.Contains("p.txt:1", noHeader.Message);
        var noExamples = Assert.Throws<DromedaryException>(() => AlignmentPrompt.Parse("# A\n\n1 (a). b", "p.txt", null, null));
        Assert.Contains("--exemplars", noExamples.Message);
        var noThought = Assert.Throws<DromedaryException>(() => AlignmentPrompt.Parse("# A\n\n1 (a). b", "p.txt", "## Examples\n\nUser: x\n\nA: y\n\nUser:", "e.txt"));
        Assert.Contains("e.txt", noThought.Message);
    }
}
