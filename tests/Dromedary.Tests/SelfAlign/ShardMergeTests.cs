using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Runs;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

public class ShardMergeTests
{
    private static void Shard(string run, int index, int count, string stage, params JsonObject[] kept)
    {
        var folder = RunFolder.For(run, new ShardSpec(index, count));
        folder.Claim(new JsonObject { ["stage"] = stage });
        RunFolder.WriteJsonl(folder.Kept, kept);
    }

    private static JsonObject Task(string instruction) => new() { ["instruction"] = instruction, ["input"] = "", ["output"] = "" };

    [Fact]
    public void Self_instruct_drops_normalised_repeats_of_earlier_shards_only()
    {
        using var temp = new TempDirectory();
        Shard(temp.Path, 0, 2, "self-instruct", Task("Name a river."), Task("Name a river!"));
        Shard(temp.Path, 1, 2, "self-instruct", Task("NAME a river?"), Task("Name a  river."), Task("List two lakes."));
        var summary = ShardMerge.Run(temp.Path, () => [], "Dromedary");
        // "Name a river!" repeats within shard 0 and stays (the set grows between files); "Name a  river." has two spaces.
        Assert.Equal(["Name a river.", "Name a river!", "Name a  river.", "List two lakes."],
            RunFolder.ReadJsonl(temp["kept.jsonl"]).Select(r => (string)r["instruction"]!));
        Assert.Equal(1, summary.Stats["duplicate_of_earlier_shard"]);
        Assert.Equal("name a river ", ShardMerge.Normalize("Name a River?"));
    }

    [Fact]
    public void Tgrt_questions_keep_the_first_per_topic_and_type_and_missing_shards_are_errors()
    {
        using var temp = new TempDirectory();
        JsonObject Question(string topic, string text) => new() { ["instruction"] = text, ["topic"] = topic, ["question_type"] = "T" };
        Shard(temp.Path, 0, 3, "tgrt-questions", Question("A", "first"));
        Shard(temp.Path, 1, 3, "tgrt-questions", Question("A", "second"), Question("B", "third"));
        Assert.Contains("shard-2-of-3", Assert.Throws<DromedaryException>(() => ShardMerge.Run(temp.Path, () => [], "D")).Message);
        Shard(temp.Path, 2, 3, "tgrt-questions");
        ShardMerge.Run(temp.Path, () => [], "D");
        Assert.Equal(["first", "third"], RunFolder.ReadJsonl(temp["kept.jsonl"]).Select(r => (string)r["instruction"]!));
    }
}
