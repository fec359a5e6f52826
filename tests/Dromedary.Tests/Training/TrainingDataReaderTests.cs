using Dromedary.Training.Data;
using Xunit;

namespace Dromedary.Tests.Training;

/// <summary>The record readers on good files, and on each kind of bad input: the message must name the file and line.</summary>
public sealed class TrainingDataReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string WriteFile(string name, string text)
    {
        var path = _dir[name];
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_json_array_reads_every_field()
    {
        var path = WriteFile("data.json", """
            [
              {"instruction": "Add 2 and 2.", "input": "", "output": "4\n\n### User\n", "example_id": 7},
              {"instruction": "Translate.", "input": "Bonjour", "output": "Hello", "extra": [1, 2]},
              {"instruction": "No input field", "output": "ok", "example_id": null}
            ]
            """);
        var records = TrainingRecordReader.Read(path);
        Assert.Equal(
        [
            new TrainingRecord("Add 2 and 2.", "", "4\n\n### User\n", 7),
            new TrainingRecord("Translate.", "Bonjour", "Hello", null),
            new TrainingRecord("No input field", "", "ok", null),
        ], records);
    }

    [Fact]
    public void Json_lines_skip_blank_lines_and_a_byte_order_mark()
    {
        var path = WriteFile("data.jsonl", "\uFEFF{\"instruction\": \"a\", \"output\": \"b\", \"example_id\": 1}\n\n{\"instruction\": \"c\", \"input\": \"d\", \"output\": \"e\"}\n");
        Assert.Equal([new TrainingRecord("a", "", "b", 1), new TrainingRecord("c", "d", "e", null)], TrainingRecordReader.Read(path));
    }

    [Fact]
    public void Every_bad_json_line_is_reported_with_file_and_line()
    {
        var path = WriteFile("bad.jsonl", string.Join("\n",
            """{"instruction": "fine", "output": "fine"}""",
            """{"instruction": "broken", "output": """,
            """{"instruction": "no output"}""",
            """{"instruction": 3, "output": "x"}""",
            """{"instruction": "id", "output": "x", "example_id": "7"}""",
            """["not", "an", "object"]""",
            """{"instruction": "id", "output": "x", "example_id": 1.5}"""));
        var message = Assert.Throws<DromedaryException>(() => TrainingRecordReader.Read(path)).Message;
        Assert.Contains($"{path}: 6 problems", message);
        Assert.Contains($"{path}:2: not valid JSON", message);
        Assert.Contains($"{path}:3: missing \"output\"", message);
        Assert.Contains($"{path}:4: \"instruction\" must be a string, not a number", message);
        Assert.Contains($"{path}:5: \"example_id\" must be an integer, not a string", message);
        Assert.Contains($"{path}:6: expected a JSON object, found an array", message);
        Assert.Contains($"{path}:7: \"example_id\" must be an integer, not 1.5", message);
        Assert.DoesNotContain($"{path}:1:", message);
    }

    [Fact]
    public void Bad_array_elements_are_reported_with_their_index_and_line()
    {
        var path = WriteFile("bad.json", """
            [
              {"instruction": "fine", "output": "fine"},
              {
                "output": "no instruction"
              },
              "a string",
              {"instruction": "x", "output": null}
            ]
            """);
        var message = Assert.Throws<DromedaryException>(() => TrainingRecordReader.Read(path)).Message;
        Assert.Contains($"{path}:3: element 1: missing \"instruction\"", message);
        Assert.Contains($"{path}:6: element 2: expected a JSON object, found a string", message);
        Assert.Contains($"{path}:7: element 3: missing \"output\"", message);
    }

    [Fact]
    public void A_syntax_error_in_an_array_names_its_line()
    {
        var path = WriteFile("broken.json", "[\n  {\"instruction\": \"a\", \"output\": \"b\"},\n  {\"instruction\": \"a\" \"output\": \"b\"}\n]");
        var message = Assert.Throws<DromedaryException>(() => TrainingRecordReader.Read(path)).Message;
        Assert.StartsWith($"{path}:3: not valid JSON", message);
    }

    [Fact]
    public void A_truncated_array_is_an_error()
    {
        var path = WriteFile("cut.json", "[\n  {\"instruction\": \"a\", \"output\": \"b\"},\n");
        Assert.StartsWith($"{path}:", Assert.Throws<DromedaryException>(() => TrainingRecordReader.Read(path)).Message);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData(" \n\t\n", "empty")]
    [InlineData("[]", "holds no training records")]
    [InlineData("\n\nhello", "3: expected a JSON array of objects or JSON lines")]
    public void Empty_or_unrecognised_files_are_errors(string text, string expected)
    {
        var path = WriteFile("odd.json", text);
        var message = Assert.Throws<DromedaryException>(() => TrainingRecordReader.Read(path)).Message;
        Assert.StartsWith($"{path}:", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var path = _dir["nope.json"];
        Assert.Equal($"{path}: not found.", Assert.Throws<DromedaryException>(() => TrainingRecordReader.Read(path)).Message);
    }

    [Fact]
    public void Tokenized_examples_read_ids_and_labels()
    {
        var path = WriteFile("tokens.jsonl", """
            {"input_ids": [1, 5, 6, 7], "labels": [-100, -100, 6, 7]}
            {"input_ids": [1, 9], "labels": [1, 9]}
            """);
        var examples = TokenizedExampleReader.Read(path, vocabSize: 10);
        Assert.Equal(2, examples.Count);
        Assert.Equal([1, 5, 6, 7], examples[0].InputIds);
        Assert.Equal([-100, -100, 6, 7], examples[0].Labels);
        Assert.Equal(2, examples[0].CountedTokens);
        Assert.Equal(1, examples[1].CountedTokens);
    }

    [Fact]
    public void Bad_tokenized_lines_are_reported_with_file_and_line()
    {
        var path = WriteFile("tokens.jsonl", string.Join("\n",
            """{"input_ids": [1, 2, 3], "labels": [-100, 2]}""",
            """{"input_ids": [1, 2], "labels": [-5, 2]}""",
            """{"input_ids": [1, 20], "labels": [1, 2]}""",
            """{"input_ids": [1, "2"], "labels": [1, 2]}""",
            """{"input_ids": [1, 2]}""",
            """{"input_ids": 12, "labels": [1]}""",
            """{"input_ids": [1, 2], "labels": [1, 2]}""",
            "input_ids"));
        var message = Assert.Throws<DromedaryException>(() => TokenizedExampleReader.Read(path, vocabSize: 10)).Message;
        Assert.Contains($"{path}:1: \"labels\" has 2 entries but \"input_ids\" has 3", message);
        Assert.Contains($"{path}:2: \"labels\"[0] = -5 is neither -100 nor a token id below 10", message);
        Assert.Contains($"{path}:3: \"input_ids\"[1] = 20 is outside the vocabulary of 10", message);
        Assert.Contains($"{path}:4: \"input_ids\"[1] must be an integer, not a string", message);
        Assert.Contains($"{path}:5: missing \"labels\"", message);
        Assert.Contains($"{path}:6: \"input_ids\" must be an array of integers, not a number", message);
        Assert.Contains($"{path}:8: not valid JSON", message);
        Assert.DoesNotContain($"{path}:7:", message);
    }

    [Fact]
    public void Tokenized_examples_must_be_json_lines()
    {
        var path = WriteFile("tokens.json", """[{"input_ids": [1], "labels": [1]}]""");
        var message = Assert.Throws<DromedaryException>(() => TokenizedExampleReader.Read(path, vocabSize: 10)).Message;
        Assert.StartsWith($"{path}:1: expected JSON lines with tokenized examples", message);
    }
}
