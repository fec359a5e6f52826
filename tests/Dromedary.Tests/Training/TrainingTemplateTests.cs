using Dromedary.SelfAlign.Prompts;
using Dromedary.Training.Data;
using Xunit;

namespace Dromedary.Tests.Training;

/// <summary>The Dromedary training text (METHOD.md §4.1), the meta prompt picked by example_id, and our default prompt.</summary>
public sealed class TrainingTemplateTests
{
    private static readonly TrainingTemplate Template = new(["META A", "META B"]);

    [Fact]
    public void A_record_without_input_has_instruction_then_the_header()
    {
        var (prompt, answer) = Template.Format(new TrainingRecord("Say hi.", "", "Hi!\n\n### User\n", 0));
        Assert.Equal("META A\nSay hi.\n\n### Dromedary\n", prompt);
        Assert.Equal("Hi!\n\n### User\n", answer);
    }

    [Fact]
    public void A_record_with_input_puts_it_between_instruction_and_header()
    {
        var (prompt, answer) = Template.Format(new TrainingRecord("Translate to English.", "Bonjour", "Hello", 0));
        Assert.Equal("META A\nTranslate to English.\n\nBonjour\n\n### Dromedary\n", prompt);
        Assert.Equal("Hello", answer);
    }

    [Theory]
    [InlineData(0, "META A")]
    [InlineData(1, "META B")]
    [InlineData(6, "META A")]
    [InlineData(7, "META B")]
    [InlineData(-1, "META B")]
    [InlineData(null, "META A")]
    public void The_meta_prompt_is_example_id_mod_count(int? exampleId, string expected)
    {
        Assert.Equal(expected, Template.MetaPromptFor(exampleId));
        Assert.StartsWith(expected + "\n", Template.Format(new TrainingRecord("q", "", "a", exampleId)).Prompt);
    }

    [Fact]
    public void The_default_meta_prompt_is_our_markdown_header_block()
    {
        var meta = Assert.Single(TrainingTemplate.Default().MetaPrompts);
        Assert.StartsWith("# Dromedary\n\n## System Overview\n\n", meta);
        Assert.Contains("\n\n## User Conversation\n\n### User\n", meta);
        Assert.Single(meta.Split("\n### Dromedary\n").Skip(1));
        Assert.EndsWith("\n\n### User", meta);
        Assert.DoesNotContain("\r", meta);
    }

    [Fact]
    public void Prompt_files_are_stripped_and_read_with_universal_newlines()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir["a.txt"], "\n# Mine\r\n\r\n### User\r\n");
        File.WriteAllText(dir["b.txt"], "# Other\n### User");
        var template = TrainingTemplate.FromFiles([dir["a.txt"], dir["b.txt"]]);
        Assert.Equal(["# Mine\n\n### User", "# Other\n### User"], template.MetaPrompts);
        var missing = Assert.Throws<DromedaryException>(() => TrainingTemplate.FromFiles([dir["c.txt"]]));
        Assert.StartsWith(dir["c.txt"], missing.Message);
    }
}
