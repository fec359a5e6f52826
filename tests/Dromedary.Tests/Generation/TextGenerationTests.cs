using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Dromedary.Tests.Model;
using Xunit;

namespace Dromedary.Tests.Generation;

public class TextGenerationTests
{
    private static readonly TextTokenizer Tokenizer = TextTokenizer.Load(Fixtures.TinyLlama("f32"));

    private static GenerationResult Generate(ForwardTests.TestModel loaded, GenerationOptions options, List<string>? streamed = null) =>
        TextGeneration.Run(loaded.Model, Tokenizer, "The quick brown fox", options, streamed is null ? null : streamed.Add);

    [Fact]
    public void A_stop_string_split_across_tokens_ends_the_text_before_it()
    {
        using var loaded = ForwardTests.Load("f32", Precision.Fp32);
        var free = Generate(loaded, new GenerationOptions { MaxNewTokens = 12 });
        // A stop that spans the boundary between the second and third generated tokens.
        var boundary = Tokenizer.Decode([.. Tokenizer.Encode("The quick brown fox"), .. free.Tokens[..2]]).Length - "The quick brown fox".Length;
        var stop = free.Text.Substring(boundary - 1, 2);
        Assert.True(stop.Length == 2 && free.Text.IndexOf(stop, StringComparison.Ordinal) == boundary - 1, $"'{stop}' in '{free.Text}'");

        var streamed = new List<string>();
        var stopped = Generate(loaded, new GenerationOptions { MaxNewTokens = 12, StopStrings = [stop] }, streamed);

        Assert.Equal(FinishReason.StopString, stopped.Finish);
        Assert.Equal(free.Text[..(boundary - 1)], stopped.Text);
        Assert.Equal(stopped.Text, string.Concat(streamed));
    }

    [Fact]
    public void Sampling_with_a_seed_is_reproducible_and_the_seed_matters()
    {
        using var loaded = ForwardTests.Load("f32", Precision.Int8);
        GenerationOptions Options(ulong seed) => new()
        {
            MaxNewTokens = 16,
            Sampling = new SamplingOptions { Temperature = 1, TopP = 0.95f, Seed = seed },
        };
        Assert.Equal(Generate(loaded, Options(4)).Tokens, Generate(loaded, Options(4)).Tokens);
        Assert.NotEqual(Generate(loaded, Options(4)).Tokens, Generate(loaded, Options(5)).Tokens);
    }

    [Fact]
    public void Streamed_pieces_add_up_to_the_text()
    {
        using var loaded = ForwardTests.Load("f32", Precision.Int8);
        var streamed = new List<string>();
        var result = Generate(loaded, new GenerationOptions { MaxNewTokens = 20 }, streamed);
        Assert.Equal(result.Text, string.Concat(streamed));
        Assert.Equal(20, result.Tokens.Length);
    }

    [Theory]
    [InlineData("abc### Us", "### User", 3)]
    [InlineData("abc#", "### User", 3)]
    [InlineData("abc", "### User", 3)]
    [InlineData("ab#c", "### User", 4)]
    public void Text_that_may_begin_a_stop_is_held_back(string text, string stop, int safe) =>
        Assert.Equal(safe, new StopStrings([stop]).SafeLength(text));

    [Fact]
    public void The_earliest_stop_wins() =>
        Assert.Equal(1, new StopStrings(["cd", "xbc"]).FindStop("axbcd"));
}
