using System.Text.Json.Nodes;
using Dromedary.Tests.Cli;
using Xunit;
using CliRunner = Dromedary.Tests.Cli.Cli;

namespace Dromedary.Tests.SelfAlign;

/// <summary>
/// Each stage command end to end on the tiny model. It knows nothing, so its completions are junk: these check the
/// plumbing — files, ids, counts, resumption, shards — while the filters are checked on hand-written completions.
/// </summary>
public class StageCommandTests
{
    private static readonly string Model = Fixtures.TinyLlama("f32");
    private static string F(string file) => SelfAlignFixtures.Path(file);

    private static CliRunner.Result Ok(params string[] args)
    {
        var result = CliRunner.Run(args);
        Assert.True(result.ExitCode == 0, $"dromedary {string.Join(' ', args)}\n{result.Stdout}\n{result.Stderr}");
        return result;
    }

    private static List<JsonObject> Lines(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => (JsonObject)JsonNode.Parse(l)!).ToList();

    private static JsonObject Stats(string folder) => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "stats.json")))!;

    private static string[] SelfInstruct(string outDir, params string[] more) =>
    [
        "self-instruct", "--model", Model, "--precision", "fp32", "--out", outDir, "--seed-tasks", F("seed_tasks.jsonl"),
        "--meta-prompt", F("tiny_self_instruct_prompt.txt"), "--demonstrations", "2", "--batch-size", "2", "--max-prompts", "4",
        "--max-new-tokens", "10", .. more,
    ];

    [Fact]
    public void Self_instruct_killed_and_resumed_loses_and_duplicates_nothing()
    {
        using var temp = new TempDirectory();
        var whole = temp.CreateSubdirectory("whole");
        var killed = temp.CreateSubdirectory("killed");
        Ok(SelfInstruct(whole));

        var stopped = Ok(SelfInstruct(killed, "--limit", "3"));
        Assert.Contains("not finished", stopped.Stdout);
        var raw = Path.Combine(killed, "raw.jsonl");
        Assert.Equal(3, Lines(raw).Count);
        // A kill in the middle of writing the third record, in the second round.
        var text = File.ReadAllText(raw);
        var lastStart = text.TrimEnd('\n').LastIndexOf('\n') + 1;
        File.WriteAllText(raw, text[..(lastStart + (text.Length - lastStart) / 2)]);
        Ok(SelfInstruct(killed));

        var expected = Lines(Path.Combine(whole, "raw.jsonl")).ToDictionary(r => (string)r["id"]!, r => (string)r["completion"]!);
        var resumed = Lines(raw);
        Assert.Equal(4, expected.Count);
        Assert.Equal(expected.Keys.Order(), resumed.Select(r => (string)r["id"]!).Order());
        foreach (var record in resumed) Assert.Equal(expected[(string)record["id"]!], (string)record["completion"]!);
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "kept.jsonl")), File.ReadAllText(Path.Combine(killed, "kept.jsonl")));
        Assert.Equal(4, (int)Stats(killed)["completions"]!);
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "stats.json")), File.ReadAllText(Path.Combine(killed, "stats.json")));
    }

    [Fact]
    public void Resuming_with_other_parameters_is_refused()
    {
        using var temp = new TempDirectory();
        Ok(SelfInstruct(temp.Path, "--limit", "1"));
        var result = CliRunner.Run(SelfInstruct(temp.Path, "--temperature", "0.3"));
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: ", result.Stderr);
        Assert.Contains("other parameters", result.Stderr);
    }

    [Fact]
    public void Self_instruct_filter_only_keeps_novel_parsed_instructions_in_prompt_order()
    {
        using var temp = new TempDirectory();
        string Raw(int index, string completion) => new JsonObject
        {
            ["id"] = $"si-{index}", ["fields"] = new JsonObject { ["index"] = index.ToString() }, ["finish"] = "MaxTokens", ["tokens"] = 9,
            ["completion"] = completion,
        }.ToJsonString();
        File.WriteAllLines(temp["raw.jsonl"],
        [
            // Out of order on disk: index 1 is processed after index 0, so its copy of index 0's task is the duplicate.
            Raw(1, " Describe how volcanoes form in a few sentences.\n3. Input:\n<noinput>\n###\n4. Instruction: Suggest three names for a pet turtle please.\n4. Input:\n<noinput>\n###\n5."),
            Raw(0, " Describe how volcanoes form in a few sentences.\n3. Input:\n<noinput>\n###\n4. Instruction: Draw a map\n4. Input:\n<noinput>\n###\n5."),
        ]);
        var result = Ok("self-instruct", "--filter-only", "--out", temp.Path, "--seed-tasks", F("seed_tasks.jsonl"), "--demonstrations", "2",
            "--meta-prompt", F("tiny_self_instruct_prompt.txt"));
        var kept = Lines(temp["kept.jsonl"]);
        Assert.Equal(["Describe how volcanoes form in a few sentences."], kept.Select(k => (string)k["instruction"]!));
        Assert.Equal("si-0-0", (string)kept[0]["id"]!);
        Assert.Equal("", (string)kept[0]["output"]!);
        var stats = Stats(temp.Path);
        Assert.Equal(2, (int)stats["similar_rouge_l"]!); // the repeat and the seed task's near copy
        Assert.Equal(1, (int)stats["too_few_words"]!);
        Assert.Equal(1, (int)stats["kept"]!);
        Assert.Contains("kept", result.Stdout);
    }

    private static string[] SelfAlign(string outDir, params string[] more) =>
    [
        "self-align", "--model", Model, "--precision", "fp32", "--out", outDir, "--instructions", F("instructions.jsonl"),
        "--principles", F("tiny_principles.txt"), "--exemplars", F("tiny_exemplars.txt"), "--identity", F("identity.json"),
        "--max-new-tokens", "8", .. more,
    ];

    [Fact]
    public void Self_align_whole_and_sharded_runs_write_every_query_once_and_add_identity()
    {
        using var temp = new TempDirectory();
        var whole = temp.CreateSubdirectory("whole");
        Ok(SelfAlign(whole));
        Assert.Equal(["sa-0", "sa-1", "sa-2", "sa-3"], Lines(Path.Combine(whole, "raw.jsonl")).Select(r => (string)r["id"]!).Order());
        var stats = Stats(whole);
        Assert.Equal(4, (int)stats["completions"]!);
        var kept = Lines(Path.Combine(whole, "kept.jsonl"));
        Assert.Equal((int)stats["kept"]! + 2, kept.Count);
        Assert.Equal(Enumerable.Range(1, kept.Count), kept.Select(k => (int)k["example_id"]!));
        Assert.Equal("What is your name?", (string)kept[^1]["instruction"]!);

        var sharded = temp.CreateSubdirectory("sharded");
        Ok(SelfAlign(sharded, "--shard", "1/2"));
        Ok(SelfAlign(sharded, "--shard", "0/2"));
        Assert.Equal(["sa-1", "sa-3"], Lines(Path.Combine(sharded, "shard-1-of-2", "raw.jsonl")).Select(r => (string)r["id"]!));
        Ok("merge-shards", "--out", sharded, "--identity", F("identity.json"));
        Assert.Equal(kept.Count, Lines(Path.Combine(sharded, "kept.jsonl")).Count);
    }

    [Fact]
    public void Self_align_filter_only_extracts_answers_from_hand_written_completions()
    {
        using var temp = new TempDirectory();
        string Raw(int index, string completion) => new JsonObject
        {
            ["id"] = $"sa-{index}",
            ["fields"] = new JsonObject { ["index"] = index.ToString(), ["instruction"] = $"question {index}", ["input"] = "" },
            ["finish"] = "MaxTokens", ["tokens"] = 50, ["completion"] = completion,
        }.ToJsonString();
        File.WriteAllLines(temp["raw.jsonl"],
        [
            Raw(0, " I am Sage. A question.\n\nSage: Sage says the answer is a long one and it goes on until the end of the tok"),
            Raw(1, " I am Sage. A question.\n\nSage: Hello there, friend. That is all"),
            Raw(2, " Something else entirely.\n\nSage: no"),
        ]);
        Ok("self-align", "--filter-only", "--out", temp.Path, "--instructions", F("instructions.jsonl"), "--principles", F("tiny_principles.txt"),
            "--exemplars", F("tiny_exemplars.txt"), "--identity", F("identity.json"), "--leak-marker", "friend");
        var kept = Lines(temp["kept.jsonl"]);
        Assert.Equal("Dromedary says the answer is a long one and it goes on until the end of the", (string)kept[0]["output"]!);
        Assert.Equal(1, (int)kept[0]["example_id"]!);
        Assert.Equal(3, kept.Count); // one answer + two identity records
        var stats = Stats(temp.Path);
        Assert.Equal(1, (int)stats["exemplar_leak"]!);
        Assert.Equal(1, (int)stats["no_thought_opener"]!);
    }

    [Fact]
    public void Tgrt_topics_then_questions_in_shards_then_merge()
    {
        using var temp = new TempDirectory();
        var topics = temp.CreateSubdirectory("topics");
        Ok("tgrt-topics", "--model", Model, "--precision", "fp32", "--out", topics, "--tgrt-seeds", F("tgrt_seeds.jsonl"),
            "--meta-prompt", F("tiny_topic_prompt.txt"), "--epochs", "2", "--max-new-tokens", "8");
        var epoch0 = Lines(Path.Combine(topics, "topics_epoch0.jsonl"));
        Assert.Equal(["Tide Tables", "Village Fairs", "Board Games"], epoch0.Take(3).Select(t => (string)t["topic"]!));
        var raw = Lines(Path.Combine(topics, "raw.jsonl"));
        Assert.Equal(3, raw.Count(r => ((string)r["id"]!).StartsWith("e0-")));
        var kept = Lines(Path.Combine(topics, "kept.jsonl"));
        Assert.Equal(0, kept.Count % 3); // balanced over the three types
        Assert.Equal(raw.Count, (int)Stats(topics)["completions"]!);

        var questions = temp.CreateSubdirectory("questions");
        foreach (var shard in new[] { "0/2", "1/2" })
            Ok("tgrt-questions", "--model", Model, "--precision", "fp32", "--out", questions, "--topics", F("tgrt_topics.jsonl"),
                "--tgrt-seeds", F("tgrt_seeds.jsonl"), "--meta-prompt", F("tiny_question_prompt.txt"), "--demonstrations", "1", "--hints", "1",
                "--max-new-tokens", "8", "--shard", shard);
        // Shard 0 has topics 0, 2, 4, 6, shard 1 has 1, 3, 5: one prompt per topic with one hint each.
        Assert.Equal(["q-0", "q-1", "q-2", "q-3"], Lines(Path.Combine(questions, "shard-0-of-2", "raw.jsonl")).Select(r => (string)r["id"]!).Order());
        Assert.Equal(["q-0", "q-1", "q-2"], Lines(Path.Combine(questions, "shard-1-of-2", "raw.jsonl")).Select(r => (string)r["id"]!).Order());
        var merged = Ok("merge-shards", "--out", questions);
        Assert.Contains("kept", merged.Stdout);
        Assert.True(File.Exists(Path.Combine(questions, "kept.jsonl")));
    }

    [Fact]
    public void Bad_inputs_are_one_line_errors()
    {
        using var temp = new TempDirectory();
        var missing = CliRunner.Run(SelfInstruct(temp.Path, "--seed-tasks", temp["none.jsonl"]));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("none.jsonl: not found", missing.Stderr);
        var shard = CliRunner.Run(SelfInstruct(temp.Path, "--shard", "2/2"));
        Assert.Contains("--shard must be", shard.Stderr);
        var noRaw = CliRunner.Run("self-align", "--filter-only", "--out", temp.Path, "--instructions", F("instructions.jsonl"),
            "--principles", F("tiny_principles.txt"), "--exemplars", F("tiny_exemplars.txt"), "--identity", F("identity.json"));
        Assert.Contains("raw.jsonl: not found", noRaw.Stderr);
        Assert.DoesNotContain("   at ", noRaw.Stderr);
    }
}
