using Dromedary.Model.Tokenization;
using Xunit;

namespace Dromedary.Tests.Model;

public class TokenizerTests
{
    private static readonly TextTokenizer Tokenizer = TextTokenizer.Load(Fixtures.TinyLlama("f32"));

    public static TheoryData<int> CaseIndices() => [.. Enumerable.Range(0, Fixtures.TokenizerCases().Length)];

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Ids_equal_SentencePiece_on_tricky_text(int index)
    {
        var expected = Fixtures.TokenizerCases()[index];
        Assert.Equal(expected.Ids, Tokenizer.Encode(expected.Text, addBos: false));
        Assert.Equal([Tokenizer.BosId, .. expected.Ids], Tokenizer.Encode(expected.Text));
        Assert.Equal(expected.Pieces, expected.Ids.Select(Tokenizer.Piece));
    }

    [Fact]
    public void Empty_text_is_just_BOS_as_in_SentencePiece()
    {
        Assert.Equal([1], Tokenizer.Encode(""));
        Assert.Equal([1, 2], Tokenizer.Encode("", addEos: true));
    }

    [Fact]
    public void Reference_token_sequences_match()
    {
        foreach (var reference in Fixtures.ReferenceLogprobs("f32"))
            Assert.Equal(reference.Tokens, Tokenizer.Encode(reference.Text));
    }

    [Theory]
    [InlineData("Hello world")]
    [InlineData("emoji 🐪🐫 🚀 and Русский текст\nnew line")]
    public void Decode_inverts_encode(string text) =>
        Assert.Equal(text, Tokenizer.Decode(Tokenizer.Encode(text)));

    [Fact]
    public void Missing_tokenizer_names_the_path()
    {
        var missingFolder = Assert.Throws<DromedaryException>(() => TextTokenizer.Load("/nonexistent/model"));
        Assert.StartsWith("/nonexistent/model: no such", missingFolder.Message);
        using var dir = new TempDirectory();
        var missingFile = Assert.Throws<DromedaryException>(() => TextTokenizer.Load(dir.Path));
        Assert.Contains(Path.Combine(dir.Path, "tokenizer.model"), missingFile.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_sentencepiece_model_is_a_clean_error()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "tokenizer.model");
        File.WriteAllText(path, "{\"not\": \"a protobuf\"}");
        var error = Assert.Throws<DromedaryException>(() => TextTokenizer.Load(path));
        Assert.StartsWith(path, error.Message);
    }
}
