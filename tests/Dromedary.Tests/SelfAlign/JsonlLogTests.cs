using System.Text;
using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Runs;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

public class JsonlLogTests
{
    [Fact]
    public void A_torn_last_line_is_cut_and_appending_continues_after_the_last_whole_record()
    {
        using var temp = new TempDirectory();
        var path = temp["raw.jsonl"];
        using (var log = JsonlLog.Open(path))
        {
            log.Append(new JsonObject { ["id"] = "a" });
            log.Append(new JsonObject { ["id"] = "b", ["text"] = "naïve ✓" });
        }
        File.AppendAllText(path, "{\"id\": \"c\", \"te", Encoding.UTF8);
        using (var log = JsonlLog.Open(path))
        {
            Assert.Equal(["a", "b"], log.Existing.Select(r => (string)r["id"]!));
            Assert.Equal("naïve ✓", (string)log.Existing[1]["text"]!);
            log.Append(new JsonObject { ["id"] = "c" });
        }
        var lines = File.ReadAllLines(path);
        Assert.Equal(3, lines.Length);
        Assert.Equal("c", (string)JsonNode.Parse(lines[2])!["id"]!);
    }

    [Fact]
    public void A_bad_line_in_the_middle_is_an_error_naming_file_and_line()
    {
        using var temp = new TempDirectory();
        var path = temp["raw.jsonl"];
        File.WriteAllText(path, "{\"id\":1}\nnot json\n{\"id\":2}\n");
        var error = Assert.Throws<DromedaryException>(() => JsonlLog.Open(path));
        Assert.Contains($"{path}:2:", error.Message);
    }
}
