using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Principles;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

public class SeedDataTests
{
    [Fact]
    public void Seed_tasks_take_the_instruction_and_the_first_input()
    {
        var tasks = SeedData.SeedTasks(SelfAlignFixtures.Path("seed_tasks.jsonl"));
        Assert.Equal(6, tasks.Count);
        Assert.Equal(new SeedTask("Is the tone of this review positive or negative?", "The soup was cold and the waiter forgot us."), tasks[1]);
        Assert.Equal("", tasks[0].Input);
    }

    [Fact]
    public void Loaders_read_streams_as_files()
    {
        using var stream = File.OpenRead(SelfAlignFixtures.Path("tgrt_seeds.jsonl"));
        Assert.Equal(SeedData.TgrtSeeds(SelfAlignFixtures.Path("tgrt_seeds.jsonl")), TgrtSeed.Read(stream, "embedded"));
    }

    [Fact]
    public void Bad_records_name_file_line_and_field()
    {
        using var temp = new TempDirectory();
        var path = temp["seeds.jsonl"];
        File.WriteAllText(path, "{\"topic\": \"A\", \"question_type\": \"Q\", \"question\": \"x\"}\n{\"topic\": 3, \"question_type\": \"Q\"}\n{oops\n");
        var error = Assert.Throws<DromedaryException>(() => TgrtSeed.Read(path)).Message;
        Assert.Contains($"{path}:2: \"topic\" must be a string", error);
        Assert.Matches($"{System.Text.RegularExpressions.Regex.Escape(path)}:2: .*; missing \"question\"", error);
        Assert.Contains($"{path}:3: not valid JSON", error);
        Assert.Contains("not found", Assert.Throws<DromedaryException>(() => SeedData.SeedTasks(temp["none.jsonl"])).Message);
    }

    [Fact]
    public void Identity_takes_the_first_exchange_and_is_renamed_and_numbered_after_the_answers()
    {
        var identity = SeedData.Identity(SelfAlignFixtures.Path("identity.json"));
        Assert.Equal(new IdentityExample("What is your name?", "My name is Dromedary."), identity[1]);
        var set = AlignedSet.Assemble([new() { ["instruction"] = "q", ["input"] = "", ["output"] = "a" }], identity, "Dromedary");
        Assert.Equal([1, 2, 3], set.Select(r => (int)r["example_id"]!));
        Assert.Equal("I am Dromedary, a model trained by researchers from the Self-Align team, a joint effort between CMU and IBM.", (string)set[1]["output"]!);
    }

    /// <summary>Our embedded texts load through the same loaders a user's files go through, with the counts METHOD.md gives.</summary>
    [Fact]
    public void The_embedded_defaults_load()
    {
        Assert.Equal(175, SeedData.SeedTasks(null).Count);
        Assert.Equal(20, SeedData.TgrtSeeds(null).Count);
        Assert.True(SeedData.Identity(null).Count > 100);
        var prompt = SeedData.Prompt(null, null);
        Assert.Equal("Watson", prompt.AssistantName);
        Assert.Equal(5, prompt.Exemplars.Count);
        Assert.NotEmpty(SeedData.LeakMarkers(null));
        Assert.Empty(SeedData.LeakMarkers("mine.txt"));
        Assert.Contains("--exemplars", Assert.Throws<DromedaryException>(() => SeedData.Prompt(null, "x.txt")).Message);
    }
}
