using System.Text;
using Dromedary.SelfAlign.Jobs;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

/// <summary>
/// The append-only JSON Lines writer and the resume scan: what a killed run leaves behind is repaired without losing a
/// finished record, and anything else wrong is an error naming file and line that leaves the file as it was.
/// </summary>
public sealed class JsonLinesResumeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Out => _dir["sub/out.jsonl"];

    private void WriteRecords(params (object Id, string Text)[] records)
    {
        using var writer = JsonLinesWriter.Append(Out);
        foreach (var (id, text) in records)
            writer.Write(json =>
            {
                json.WriteStartObject();
                if (id is int number) json.WriteNumber("id", number);
                else json.WriteString("id", (string)id);
                json.WriteString("text", text);
                json.WriteEndObject();
            });
    }

    private string Write(string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Out)!);
        File.WriteAllText(Out, text);
        return Out;
    }

    [Fact]
    public void A_missing_file_has_nothing_done()
    {
        var scan = JsonLinesResume.Scan(Out, "id");
        Assert.Empty(scan.Done);
        Assert.Null(scan.Repair);
    }

    [Fact]
    public void Written_records_are_one_line_each_and_their_keys_are_done()
    {
        WriteRecords((1, "a\nb"), ("x", "é ✓"), (20, ""));
        WriteRecords(("y", "appended later"));
        Assert.Equal(
            "{\"id\":1,\"text\":\"a\\nb\"}\n{\"id\":\"x\",\"text\":\"é ✓\"}\n{\"id\":20,\"text\":\"\"}\n{\"id\":\"y\",\"text\":\"appended later\"}\n",
            File.ReadAllText(Out));
        var scan = JsonLinesResume.Scan(Out, "id");
        Assert.Equal(new HashSet<string> { "1", "x", "20", "y" }, scan.Done);
        Assert.Null(scan.Repair);
    }

    [Fact]
    public void A_torn_last_line_is_cut_off_with_a_message_and_appending_continues_cleanly()
    {
        WriteRecords((1, "one"), (2, "deux é"));
        var whole = File.ReadAllBytes(Out);
        // A kill in the middle of the second record, inside the two bytes of "é".
        var tornAt = Encoding.UTF8.GetByteCount("{\"id\":1,\"text\":\"one\"}\n{\"id\":2,\"text\":\"deux ") + 1;
        File.WriteAllBytes(Out, whole[..tornAt]);

        var scan = JsonLinesResume.Scan(Out, "id");
        Assert.Equal(new HashSet<string> { "1" }, scan.Done);
        Assert.Contains($"{Out}:2: dropped an unfinished last line ({tornAt - 22} bytes)", scan.Repair);
        Assert.Equal("{\"id\":1,\"text\":\"one\"}\n", File.ReadAllText(Out));

        WriteRecords((2, "deux é"));
        Assert.Equal(whole, File.ReadAllBytes(Out));
    }

    [Fact]
    public void A_complete_last_record_without_its_line_end_is_kept()
    {
        Write("{\"id\":1}\n{\"id\":2}");
        var scan = JsonLinesResume.Scan(Out, "id");
        Assert.Equal(new HashSet<string> { "1", "2" }, scan.Done);
        Assert.Contains($"{Out}:2: the last record had no line end", scan.Repair);
        Assert.Equal("{\"id\":1}\n{\"id\":2}\n", File.ReadAllText(Out));
    }

    [Fact]
    public void Blank_lines_are_skipped()
    {
        Write("\n{\"id\":\"a\"}\n\n   \n{\"id\":\"b\"}\n\n");
        Assert.Equal(new HashSet<string> { "a", "b" }, JsonLinesResume.Scan(Out, "id").Done);
    }

    [Theory]
    [InlineData("{\"id\":1}\n{\"id\":2\n{\"id\":3}\n", ":2: not valid JSON")]
    [InlineData("{\"id\":1}\n[1, 2]\n", ":2: expected a JSON object, found an array")]
    [InlineData("{\"id\":1}\n{\"name\":2}\n", ":2: missing \"id\"")]
    [InlineData("{\"id\":1}\n{\"id\":true}\n", ":2: \"id\" must be a string or a number, not a boolean")]
    [InlineData("{\"id\":\"7\"}\n{\"id\":2}\n{\"id\":7}\n", ":3: duplicate id \"7\", first on line 1")]
    [InlineData("{\"id\":1}\n{\"id\":1}", ":2: duplicate id \"1\", first on line 1")]
    public void Damage_a_kill_cannot_cause_is_an_error_naming_the_line_and_the_file_is_untouched(string text, string expected)
    {
        Write(text);
        var error = Assert.Throws<DromedaryException>(() => JsonLinesResume.Scan(Out, "id"));
        Assert.Contains(Out + expected, error.Message);
        Assert.Equal(text, File.ReadAllText(Out));
    }

    [Fact]
    public void A_file_being_written_cannot_be_scanned_or_opened_by_a_second_run()
    {
        WriteRecords((1, "one"));
        using var first = JsonLinesWriter.Append(Out);
        Assert.Contains("another run", Assert.Throws<DromedaryException>(() => JsonLinesResume.Scan(Out, "id")).Message);
        Assert.Contains("another run", Assert.Throws<DromedaryException>(() => JsonLinesWriter.Append(Out)).Message);
    }
}
