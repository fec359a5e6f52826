using System.Text.Json;
using Xunit;

namespace Dromedary.Tests.Cli;

/// <summary>`generate --prompts` (resumable JSONL) and `chat` with piped input, end to end on the tiny model.</summary>
public sealed class GenerateAndChatCliTests : IDisposable
{
    private static readonly string F32 = Fixtures.TinyLlama("f32");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string[] Generate(string prompts, string output) =>
        ["generate", "--model", F32, "--prompts", prompts, "--out", output, "--max-new-tokens", "6", "--temperature", "0.9", "--seed", "5"];

    private static readonly string[] PromptLines =
    [
        """{"id": 1, "prompt": "Hello world", "topic": "greeting"}""",
        """{"id": "same", "prompt": "Hello world", "tags": ["a", 2]}""",
        """{"id": 3, "prompt": "Once upon a time"}""",
        """{"id": "four", "prompt": "The cat", "n": 2.50}""",
    ];

    [Fact]
    public void Generate_prompts_writes_a_record_per_id_and_a_rerun_in_any_order_makes_only_the_missing_ones_identically()
    {
        var prompts = _dir["prompts.jsonl"];
        var output = _dir["out.jsonl"];
        File.WriteAllLines(prompts, PromptLines);

        var first = Cli.Run(Generate(prompts, output));
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("4 prompts: 0 already in", first.Stderr);
        var lines = File.ReadAllLines(output);
        Assert.Equal(4, lines.Length);
        var records = lines.Select(line => JsonDocument.Parse(line).RootElement).ToDictionary(record => record.GetProperty("id").ToString());
        Assert.Equal(["1", "same", "3", "four"], records.Keys);
        Assert.Equal("greeting", records["1"].GetProperty("topic").GetString());
        Assert.Equal("""["a",2]""", records["same"].GetProperty("tags").GetRawText());
        Assert.Equal("2.50", records["four"].GetProperty("n").GetRawText());
        foreach (var record in records.Values)
        {
            Assert.InRange(record.GetProperty("completion_tokens").GetInt32(), 1, 6);
            Assert.Contains(record.GetProperty("finish_reason").GetString(), new[] { "max_tokens", "end_of_sequence" });
            Assert.Equal(JsonValueKind.String, record.GetProperty("completion").ValueKind);
        }
        // The same prompt under two ids samples with two seeds.
        Assert.NotEqual(records["1"].GetProperty("completion").GetString(), records["same"].GetProperty("completion").GetString());

        // What a kill leaves: two finished records and half of a third. The rerun reads the prompts in reverse
        // order on a one-sequence engine with a small KV cache, so it also shows that an id's record depends neither
        // on where the id sits in the file nor on how the engine batches it.
        File.WriteAllText(output, lines[0] + "\n" + lines[2] + "\n" + lines[1][..(lines[1].Length / 2)]);
        var reversed = _dir["reversed.jsonl"];
        File.WriteAllLines(reversed, PromptLines.Reverse());
        var second = Cli.Run([.. Generate(reversed, output), "--max-sequences", "1", "--kv-blocks", "8"]);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains($"{output}:3: dropped an unfinished last line", second.Stderr);
        Assert.Contains("4 prompts: 2 already in", second.Stderr);
        var resumed = File.ReadAllLines(output);
        Assert.Equal([lines[0], lines[2], lines[3], lines[1]], resumed);
    }

    [Fact]
    public void Generate_prompts_with_a_duplicate_id_is_a_clean_error_naming_the_line()
    {
        var prompts = _dir["prompts.jsonl"];
        File.WriteAllLines(prompts, [PromptLines[0], PromptLines[2], """{"id": "1", "prompt": "again"}"""]);
        var result = Cli.Run(Generate(prompts, _dir["out.jsonl"]));
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {prompts}:3: duplicate id \"1\", first on line 1", result.Stderr.Trim());
        Assert.False(File.Exists(_dir["out.jsonl"]));
    }

    [Fact]
    public void Chat_answers_each_piped_turn_and_reset_starts_over()
    {
        var system = _dir["system.txt"];
        File.WriteAllText(system, "# Test assistant\n\nAnswers briefly.\n\n### User\n");
        var result = Cli.RunWithInput("Hello\n\nHow are you?\n/reset\nHello\n/exit\nnever read\n",
            "chat", "--model", F32, "--system", system, "--max-new-tokens", "8", "--seed", "3");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var replies = result.Stdout.Split('\n');
        Assert.Equal(4, replies.Length);
        Assert.Equal("", replies[3]);
        Assert.Contains("[conversation forgotten]", result.Stderr);
        Assert.NotEqual("", replies[0]);
        // After /reset, "Hello" with the same seed is the first turn of a new chat again.
        Assert.Equal(replies[0], replies[2]);
    }
}
