using Dromedary.Model.Tokenization;
using Dromedary.Training.Data;
using Xunit;

namespace Dromedary.Tests.Training;

/// <summary>ExampleBuilder on the tiny fixture tokenizer, checked against the rules of METHOD.md §4.2.</summary>
public sealed class TrainingExampleBuilderTests
{
    private static readonly TextTokenizer Tokenizer = TextTokenizer.Load(Fixtures.TinyLlama("f32"));

    /// <summary>A fixed prompt around the instruction, so the tests control exactly what is masked.</summary>
    private sealed class ChatFormatter : ITrainingFormatter
    {
        public (string Prompt, string Answer) Format(TrainingRecord record) =>
            ($"# Dromedary\n\n### User\n{record.Instruction}\n\n### Dromedary\n", record.Output);
    }

    private static readonly TrainingRecord Record = new("What is 2+2?", "", "It is 4.\n\n### User\n", 0);
    private const string Prompt = "# Dromedary\n\n### User\nWhat is 2+2?\n\n### Dromedary\n";

    [Fact]
    public void Prompt_tokens_are_masked_as_the_original_counts_them()
    {
        var example = new ExampleBuilder(Tokenizer, new ChatFormatter(), cutoff: 512).Build(Record);
        var full = Tokenizer.Encode(Prompt + Record.Output);
        var masked = Tokenizer.Encode(Prompt.TrimEnd()).Length;
        Assert.Equal(full, example.InputIds);
        Assert.Equal(Tokenizer.BosId, example.InputIds[0]);
        Assert.NotEqual(Tokenizer.EosId, example.InputIds[^1]);
        Assert.All(example.Labels[..masked], label => Assert.Equal(TokenizedExample.IgnoreLabel, label));
        Assert.Equal(full[masked..], example.Labels[masked..]);
        // The loss starts at the newline after "### Dromedary" and covers the answer and the next header.
        Assert.Equal("<0x0A>", Tokenizer.Piece(example.InputIds[masked]));
        Assert.Equal("\n" + Record.Output, Tokenizer.Decode(example.InputIds[masked..]));
        Assert.Equal(full.Length - masked, example.CountedTokens);
    }

    [Fact]
    public void Training_on_inputs_counts_every_label()
    {
        var example = new ExampleBuilder(Tokenizer, new ChatFormatter(), cutoff: 512, trainOnInputs: true).Build(Record);
        Assert.Equal(example.InputIds, example.Labels);
        Assert.Equal(example.Length - 1, example.CountedTokens);
    }

    [Fact]
    public void Eos_is_appended_only_when_asked_and_there_is_room()
    {
        var full = Tokenizer.Encode(Prompt + Record.Output);
        var withEos = new ExampleBuilder(Tokenizer, new ChatFormatter(), cutoff: 512, addEos: true).Build(Record);
        Assert.Equal([.. full, Tokenizer.EosId], withEos.InputIds);
        Assert.Equal(Tokenizer.EosId, withEos.Labels[^1]);
        var atCutoff = new ExampleBuilder(Tokenizer, new ChatFormatter(), cutoff: full.Length, addEos: true).Build(Record);
        Assert.Equal(full, atCutoff.InputIds);
    }

    [Fact]
    public void Long_examples_are_cut_on_the_right()
    {
        var full = Tokenizer.Encode(Prompt + Record.Output);
        var masked = Tokenizer.Encode(Prompt.TrimEnd()).Length;
        var cut = new ExampleBuilder(Tokenizer, new ChatFormatter(), cutoff: masked + 3).Build(Record);
        Assert.Equal(full[..(masked + 3)], cut.InputIds);
        Assert.Equal(3, cut.CountedTokens);
        var promptOnly = new ExampleBuilder(Tokenizer, new ChatFormatter(), cutoff: masked - 5).Build(Record);
        Assert.Equal(masked - 5, promptOnly.Length);
        Assert.All(promptOnly.Labels, label => Assert.Equal(TokenizedExample.IgnoreLabel, label));
        Assert.Equal(0, promptOnly.CountedTokens);
    }

    [Fact]
    public void A_cutoff_under_two_is_rejected() =>
        Assert.Throws<DromedaryException>(() => new ExampleBuilder(Tokenizer, new ChatFormatter(), cutoff: 1));
}
