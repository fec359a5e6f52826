using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Engraving;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.VerboseCloning;
using Dromedary.Training.Data;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

/// <summary>What stages 3 and 4 show the model: the stage-3 training example, the stage-4 generation prompt, stage 4's prompt parity.</summary>
public sealed class StagePromptTests
{
    private static readonly string Stage2Kept = Path.Combine(AppContext.BaseDirectory, "fixtures", "selfalign", "stage2_kept.jsonl");

    [Fact]
    public void Engraving_masks_the_standard_prompt_and_question_and_counts_the_answer_with_its_turn_end()
    {
        var records = TrainingRecordReader.Read(Stage2Kept);
        var tokenizer = TextTokenizer.Load(Fixtures.TinyLlama("f32"));
        var builder = new ExampleBuilder(tokenizer, PrincipleEngraving.Template(), cutoff: 4096);
        var standard = EmbeddedPrompts.Read(EmbeddedPrompts.Standard).Trim();
        foreach (var record in records)
        {
            var example = builder.Build(record);
            var prompt = record.Input.Length > 0
                ? $"{standard}\n{record.Instruction}\n\n{record.Input}\n\n### Dromedary"
                : $"{standard}\n{record.Instruction}\n\n### Dromedary";
            // The model sees our short prompt, the question and the answer; nothing of stage 2's prompt.
            Assert.Equal(tokenizer.Encode(prompt + "\n" + record.Output), example.InputIds);
            foreach (var pruned in new[] { "Watson", "internal thoughts", "General Rules", "Brennholt" })
                Assert.DoesNotContain(pruned, tokenizer.Decode(example.InputIds));
            var masked = tokenizer.Encode(prompt).Length;
            Assert.All(example.Labels[..masked], label => Assert.Equal(TokenizedExample.IgnoreLabel, label));
            Assert.Equal(example.InputIds[masked..], example.Labels[masked..]);
            var counted = tokenizer.Decode(example.InputIds[masked..]);
            Assert.EndsWith(record.Output.TrimEnd(), counted.TrimEnd());
        }
        Assert.Contains(records, r => r.Output.EndsWith("\n\n### User\n", StringComparison.Ordinal));
        Assert.Contains(records, r => r.ExampleId is null);
    }

    [Fact]
    public void The_stage4_prompt_is_the_extensive_meta_then_question_input_and_the_extensive_header()
    {
        Assert.Equal("# Meta\n\n### User\nName a camel.\n\nThe desert\n\n### Dromedary (extensive)",
            VerbosePrompt.Build("  # Meta\n\n### User\n\n", "Name a camel.", "The desert"));
        Assert.Equal("# Meta\n\n### User\nName a camel.\n\n### Dromedary (extensive)", VerbosePrompt.Build("# Meta\n\n### User", "Name a camel.", ""));
        var snapshot = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "selfalign", "stage4_prompt.txt")).Replace("\r\n", "\n");
        Assert.Equal(snapshot, VerbosePrompt.Build(VerbosePrompt.DefaultMeta(), "What is a dromedary?", "One hump or two?"));
        var sampling = VerbosePrompt.Generation(seed: 7).Sampling;
        Assert.Equal((0.3f, 0.7f, 512), (sampling.Temperature, sampling.TopP, VerbosePrompt.Generation(7).MaxNewTokens));
        Assert.Equal([0f, 0f, 1f, 2f], sampling.NgramPenalties);
    }

    [Fact]
    public void Stage4_trains_even_ids_under_the_concise_prompt_and_odd_ones_under_the_standard_prompt()
    {
        var template = VerboseCloneRun.Template();
        Assert.Equal(EmbeddedPrompts.Read(EmbeddedPrompts.Concise).Trim(), template.MetaPromptFor(2));
        Assert.Equal(EmbeddedPrompts.Read(EmbeddedPrompts.Standard).Trim(), template.MetaPromptFor(1));
        Assert.Equal(768, VerboseCloneRun.Cutoff);
        Assert.Equal(512, PrincipleEngraving.Cutoff);
    }
}
