using Dromedary.SelfAlign.Jobs;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

/// <summary>The prompts file of `generate --prompts`: ids, prompts and carried fields; each bad line named.</summary>
public sealed class PromptFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string text)
    {
        var path = _dir["prompts.jsonl"];
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Ids_may_be_strings_or_numbers_and_the_whole_record_is_kept()
    {
        var prompts = PromptFile.Read(Write("{\"id\": 7, \"prompt\": \"Hi\", \"topic\": \"x\"}\n\n{\"prompt\": \"Yo\", \"id\": \"b-2\"}\n"));
        Assert.Equal(["7", "b-2"], prompts.Select(p => p.Id));
        Assert.Equal(["Hi", "Yo"], prompts.Select(p => p.Prompt));
        Assert.Equal("x", prompts[0].Fields.GetProperty("topic").GetString());
    }

    [Fact]
    public void Duplicate_ids_name_both_lines()
    {
        var path = Write("{\"id\": 1, \"prompt\": \"a\"}\n{\"id\": 2, \"prompt\": \"b\"}\n{\"id\": \"1\", \"prompt\": \"c\"}\n");
        var error = Assert.Throws<DromedaryException>(() => PromptFile.Read(path));
        Assert.Equal($"{path}:3: duplicate id \"1\", first on line 1", error.Message);
    }

    [Fact]
    public void Every_bad_line_is_named_in_one_error()
    {
        var path = Write("{\"id\": 1, \"prompt\": \"ok\"}\n{\"id\": 2}\nnot json\n{\"prompt\": \"p\"}\n{\"id\": 5, \"prompt\": 3}\n{\"id\": null, \"prompt\": \"p\"}\n");
        var message = Assert.Throws<DromedaryException>(() => PromptFile.Read(path)).Message;
        Assert.Contains($"{path}:2: missing \"prompt\"", message);
        Assert.Contains($"{path}:3: not valid JSON", message);
        Assert.Contains($"{path}:4: missing \"id\"", message);
        Assert.Contains($"{path}:5: \"prompt\" must be a string, not a number", message);
        Assert.Contains($"{path}:6: \"id\" must be a string or a number, not null", message);
        Assert.DoesNotContain(":1:", message);
    }

    [Fact]
    public void A_missing_file_is_named() =>
        Assert.Contains("nope.jsonl: not found", Assert.Throws<DromedaryException>(() => PromptFile.Read(_dir["nope.jsonl"])).Message);
}
