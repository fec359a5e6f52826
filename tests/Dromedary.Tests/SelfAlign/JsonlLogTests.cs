using System.Text;
using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Runs;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

/// <summary>
/// The append-only JSON Lines log every resumable job writes: what a killed run leaves behind is repaired without
/// losing a finished record, and anything else wrong is an error naming file and line that leaves the file as it was.
/// </summary>
public sealed class JsonlLogTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Out => _dir["sub/out.jsonl"];

    private void Append(params (object Id, string Text)[] records)
    {
        using var log = JsonlLog.Open(Out);
        foreach (var (id, text) in records)
            log.Append(new JsonObject { ["id"] = id is int number ? number : (string)id, ["text"] = text });
    }

    private void Write(string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Out)!);
        File.WriteAllText(Out, text);
    }

    [Fact]
    public void A_missing_file_has_nothing_done_and_scanning_does_not_make_it()
    {
        var scan = JsonlLog.Scan(Out, "id");
        Assert.Empty(scan.Done);
        Assert.Null(scan.Repair);
        Assert.False(File.Exists(Out));
    }

    [Fact]
    public void Records_are_one_line_each_readable_text_and_their_keys_are_done()
    {
        Append((1, "a\nb"), ("x", "é ✓ <&>"), (20, ""));
        Append(("y", "appended later"));
        Assert.Equal(
            "{\"id\":1,\"text\":\"a\\nb\"}\n{\"id\":\"x\",\"text\":\"é ✓ <&>\"}\n{\"id\":20,\"text\":\"\"}\n{\"id\":\"y\",\"text\":\"appended later\"}\n",
            File.ReadAllText(Out));
        var scan = JsonlLog.Scan(Out, "id");
        Assert.Equal(new HashSet<string> { "1", "x", "20", "y" }, scan.Done);
        Assert.Null(scan.Repair);
        Assert.Equal(["1", "x", "20", "y"], JsonlLog.Read(Out).Select(r => r["id"]!.ToJsonString().Trim('"')));
    }

    [Fact]
    public void A_torn_last_line_is_cut_off_with_a_message_and_appending_continues_cleanly()
    {
        Append((1, "one"), (2, "deux é"));
        var whole = File.ReadAllBytes(Out);
        // A kill in the middle of the second record, inside the two bytes of "é".
        var tornAt = Encoding.UTF8.GetByteCount("{\"id\":1,\"text\":\"one\"}\n{\"id\":2,\"text\":\"deux ") + 1;
        File.WriteAllBytes(Out, whole[..tornAt]);

        using (var log = JsonlLog.Open(Out, "id"))
        {
            Assert.Equal(new HashSet<string> { "1" }, log.Keys);
            Assert.Equal("one", (string)log.Existing.Single()["text"]!);
            Assert.Contains($"{Out}:2: dropped an unfinished last line ({tornAt - 22} bytes)", log.Repair);
        }
        Assert.Equal("{\"id\":1,\"text\":\"one\"}\n", Encoding.UTF8.GetString(File.ReadAllBytes(Out)));
        Append((2, "deux é"));
        Assert.Equal(whole, File.ReadAllBytes(Out));
    }

    [Fact]
    public void A_complete_last_record_without_its_line_end_is_kept()
    {
        Write("{\"id\":1}\n{\"id\":2}");
        Assert.Equal(2, JsonlLog.Read(Out).Count);
        var scan = JsonlLog.Scan(Out, "id");
        Assert.Equal(new HashSet<string> { "1", "2" }, scan.Done);
        Assert.Contains($"{Out}:2: the last record had no line end", scan.Repair);
        Assert.Equal("{\"id\":1}\n{\"id\":2}\n", File.ReadAllText(Out));
    }

    [Fact]
    public void Blank_lines_are_skipped()
    {
        Write("\n{\"id\":\"a\"}\n\n   \n{\"id\":\"b\"}\n\n");
        Assert.Equal(new HashSet<string> { "a", "b" }, JsonlLog.Scan(Out, "id").Done);
    }

    [Theory]
    [InlineData("{\"id\":1}\n{\"id\":2\n{\"id\":3}\n", ":2: not valid JSON")]
    [InlineData("{\"id\":1}\nnot json\n{\"id\":2}\n", ":2: not valid JSON")]
    [InlineData("{\"id\":1}\n[1, 2]\n", ":2: expected a JSON object, found an array")]
    [InlineData("{\"id\":1}\n{\"name\":2}\n", ":2: missing \"id\"")]
    [InlineData("{\"id\":1}\n{\"id\":true}\n", ":2: \"id\" must be a string or a number, not a boolean")]
    [InlineData("{\"id\":\"7\"}\n{\"id\":2}\n{\"id\":7}\n", ":3: duplicate id \"7\", first on line 1")]
    [InlineData("{\"id\":1}\n{\"id\":1}", ":2: duplicate id \"1\", first on line 1")]
    public void Damage_a_kill_cannot_cause_is_an_error_naming_the_line_and_the_file_is_untouched(string text, string expected)
    {
        Write(text);
        var error = Assert.Throws<DromedaryException>(() => JsonlLog.Open(Out, "id"));
        Assert.Contains(Out + expected, error.Message);
        Assert.Equal(text, File.ReadAllText(Out));
    }

    [Fact]
    public void A_file_being_written_cannot_be_opened_by_a_second_run()
    {
        Append((1, "one"));
        using var first = JsonlLog.Open(Out);
        Assert.Contains("another run", Assert.Throws<DromedaryException>(() => JsonlLog.Scan(Out, "id")).Message);
        Assert.Contains("another run", Assert.Throws<DromedaryException>(() => JsonlLog.Open(Out)).Message);
    }
}
