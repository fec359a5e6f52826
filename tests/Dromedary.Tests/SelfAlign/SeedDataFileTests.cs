using System.Text.Json;
using System.Text.RegularExpressions;
using Dromedary.SelfAlign.Prompts;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

/// <summary>
/// Our stage 1 and 2 human input (src/SelfAlign/Data) is embedded and has the shapes and counts of the original's
/// files (METHOD.md §2.1, §3.1, §3.3), so that loaders written for the original read ours unchanged.
/// </summary>
public sealed class SeedDataFileTests
{
    private static readonly string[] Files =
    [
        "seed_tasks.jsonl", "tgrt_seeds.jsonl", "identity.jsonl", "self_align_prompt.txt", "self_align_blacklist.txt",
    ];

    private static readonly string[] PrincipleNames =
    [
        "ethical", "informative", "helpful", "question assessment", "reasoning", "multi-aspect", "candor",
        "knowledge recitation", "static", "clarification", "numerical sensitivity", "dated knowledge", "step-by-step",
        "balanced & informative perspectives", "creative", "operational",
    ];

    private const string ThoughtOpening = "I am a helpful, ethical, and reliable assistant.";

    private static string Read(string file)
    {
        var name = $"Dromedary.SelfAlign.Data.{file}";
        using var stream = typeof(EmbeddedPrompts).Assembly.GetManifestResourceStream(name);
        Assert.True(stream is not null, $"{name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static List<JsonElement> ReadJsonLines(string file) => Read(file)
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select((line, index) =>
        {
            using var document = JsonDocument.Parse(line);
            Assert.True(document.RootElement.ValueKind == JsonValueKind.Object, $"{file}:{index + 1} is not an object");
            return document.RootElement.Clone();
        })
        .ToList();

    private static string Text(JsonElement record, string field) => record.GetProperty(field).GetString()!;

    [Fact]
    public void Every_file_is_embedded_with_unix_newlines()
    {
        foreach (var file in Files) Assert.DoesNotContain("\r", Read(file));
    }

    [Fact]
    public void Seed_tasks_are_175_self_instruct_records_with_one_instance_each()
    {
        var tasks = ReadJsonLines("seed_tasks.jsonl");
        Assert.Equal(175, tasks.Count);
        foreach (var task in tasks)
        {
            Assert.Equal(["id", "name", "instruction", "instances", "is_classification"],
                task.EnumerateObject().Select(property => property.Name));
            var instance = Assert.Single(task.GetProperty("instances").EnumerateArray().ToList());
            Assert.Equal(JsonValueKind.String, instance.GetProperty("input").ValueKind);
            Assert.NotEqual("", Text(instance, "output").Trim());
            Assert.InRange(Text(task, "instruction").Split(' ', StringSplitOptions.RemoveEmptyEntries).Length, 4, 150);
        }
        foreach (var field in new[] { "id", "name", "instruction" })
            Assert.Equal(tasks.Count, tasks.Select(task => Text(task, field)).Distinct().Count());
        Assert.Equal(26, tasks.Count(task => task.GetProperty("is_classification").GetBoolean()));
        Assert.Equal(50, tasks.Count(task => Text(task.GetProperty("instances")[0], "input") == ""));
    }

    [Fact]
    public void Tgrt_seeds_are_one_question_for_each_of_20_question_types()
    {
        var seeds = ReadJsonLines("tgrt_seeds.jsonl");
        Assert.Equal(20, seeds.Count);
        foreach (var seed in seeds)
        {
            Assert.Equal(["topic", "question_type", "question"], seed.EnumerateObject().Select(property => property.Name));
            Assert.StartsWith("Questions that require ", Text(seed, "question_type"));
            Assert.NotEqual("", Text(seed, "question").Trim());
            // A seed topic passes the rule that brainstormed topics must pass (METHOD.md §2.3).
            var topic = Text(seed, "topic");
            Assert.InRange(topic.Split(' ').Length, 1, 3);
            Assert.True(char.IsAsciiLetterUpper(topic[0]) && !char.IsPunctuation(topic[^1]), topic);
        }
        Assert.Equal(20, seeds.Select(seed => Text(seed, "question_type")).Distinct().Count());
    }

    [Fact]
    public void The_principle_driven_prompt_has_16_numbered_rules()
    {
        var prompt = Read("self_align_prompt.txt");
        Assert.StartsWith("# Watson\n\n## General Rules\n\n", prompt);
        var rulesSection = prompt[..prompt.IndexOf("\n## Examples\n", StringComparison.Ordinal)];
        var rules = Regex.Matches(rulesSection, @"^(\d+) \(([^)]+)\)\. \S", RegexOptions.Multiline);
        Assert.Equal(Enumerable.Range(1, 16).Select(n => n.ToString()), rules.Select(rule => rule.Groups[1].Value));
        Assert.Equal(PrincipleNames, rules.Select(rule => rule.Groups[2].Value));
    }

    [Fact]
    public void The_principle_driven_prompt_has_5_exemplars_whose_thoughts_cite_rules_by_number_and_name()
    {
        var prompt = Read("self_align_prompt.txt");
        Assert.EndsWith("\n\nUser:", prompt);
        var examples = prompt[(prompt.IndexOf("\n## Examples\n\n", StringComparison.Ordinal) + 14)..];
        var turns = examples.Split("\n\n");
        var roles = turns.Select(turn => Regex.Match(turn, @"^(User|Watson \(internal thoughts\)|Watson|Watson \(auto reply\)):"))
            .Where(match => match.Success).Select(match => match.Groups[1].Value).ToList();
        Assert.Equal(5, roles.Count(role => role == "Watson (auto reply)"));
        Assert.Equal(5, examples.Split("\n\nUser: Good job! Clear context\n\nWatson (auto reply): Thank you! ").Length - 1);
        // One exemplar has a second user turn before the closing praise, as the original's third one does.
        Assert.Equal(6, roles.Count(role => role == "Watson (internal thoughts)"));
        Assert.Equal(6, roles.Count(role => role == "Watson"));

        var thoughts = turns.Where(turn => turn.StartsWith("Watson (internal thoughts): ", StringComparison.Ordinal)).ToList();
        foreach (var thought in thoughts)
        {
            Assert.StartsWith($"Watson (internal thoughts): {ThoughtOpening} ", thought);
            var cited = Regex.Match(thought, @" I should follow rules (\d+ \([^)]+\)(?:, \d+ \([^)]+\))*)\.$");
            Assert.True(cited.Success, thought);
            foreach (Match rule in Regex.Matches(cited.Groups[1].Value, @"(\d+) \(([^)]+)\)"))
                Assert.Equal(PrincipleNames[int.Parse(rule.Groups[1].Value) - 1], rule.Groups[2].Value);
        }
    }

    [Fact]
    public void Every_blacklisted_leak_string_comes_from_the_principle_driven_prompt()
    {
        var prompt = Read("self_align_prompt.txt");
        var entries = Read("self_align_blacklist.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("Watson (auto reply):", entries);
        Assert.Contains("Good job! Clear context", entries);
        // Case aside: a capitalised variant catches a leak at the start of a sentence.
        foreach (var entry in entries) Assert.Contains(entry, prompt, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Identity_data_is_910_conversations_that_name_dromedary()
    {
        var conversations = ReadJsonLines("identity.jsonl");
        Assert.Equal(910, conversations.Count);
        Assert.Equal(910, conversations.Select(record => Text(record, "id")).Distinct().Count());
        var turnCounts = conversations.Select(record => record.GetProperty("conversations").GetArrayLength()).ToList();
        Assert.Equal(909, turnCounts.Count(count => count == 2));
        Assert.Equal(1, turnCounts.Count(count => count == 4));
        foreach (var record in conversations)
        {
            var turns = record.GetProperty("conversations");
            Assert.Equal("human", Text(turns[0], "from"));
            Assert.Equal("gpt", Text(turns[1], "from"));
            Assert.Contains("Dromedary", Text(turns[1], "value"));
        }
    }
}
