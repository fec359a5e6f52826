using System.Text.Json;
using Dromedary.Model.Config;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Prompts;
using Xunit;

namespace Dromedary.Tests.Training.Pretraining;

/// <summary>The committed toy base model (models/toy, made by scripts/toy/make_toy_model.sh).</summary>
public class ToyModelTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "models", "toy");

    private sealed record Case(string Text, int[] Ids);

    [Fact]
    public void Our_tokenizer_encodes_as_sentencepiece_does()
    {
        var cases = JsonSerializer.Deserialize<Case[]>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "toy-tokenizer-cases.json")),
            new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        var tokenizer = TextTokenizer.Load(Folder);
        Assert.Equal((1, 2), (tokenizer.BosId, tokenizer.EosId));
        foreach (var c in cases) Assert.Equal(c.Ids, tokenizer.Encode(c.Text));
    }

    [Fact]
    public void The_stage_2_prompt_and_256_new_tokens_fit_its_context()
    {
        var config = LlamaConfig.Load(Folder);
        var tokenizer = TextTokenizer.Load(Folder);
        using var stream = typeof(EmbeddedPrompts).Assembly.GetManifestResourceStream("Dromedary.SelfAlign.Data.self_align_prompt.txt")!;
        var prompt = new StreamReader(stream).ReadToEnd();
        Assert.True(tokenizer.Encode(prompt).Length + 256 <= config.MaxPositions);
        Assert.Equal(tokenizer.VocabSize, config.VocabSize);
    }

    [Fact]
    public void It_generates_text_for_a_chat_prompt()
    {
        var result = Cli.Cli.Run("generate", "--model", Folder, "--prompt", "# Dromedary\n\n## User Conversation\n\n### User\nWho are you?\n\n### Dromedary\n",
            "--max-new-tokens", "24", "--temperature", "0");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.False(string.IsNullOrWhiteSpace(result.Stdout));
    }
}
