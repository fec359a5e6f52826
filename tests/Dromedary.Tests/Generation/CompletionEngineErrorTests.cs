using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Dromedary.Tests.Model;
using Xunit;

namespace Dromedary.Tests.Generation;

/// <summary>A request the engine cannot serve is named in the error, so a user can find it among many.</summary>
public class CompletionEngineErrorTests
{
    [Fact]
    public void A_prompt_too_long_for_the_context_names_its_request()
    {
        using var loaded = ForwardTests.Load("f32", Precision.Fp32);
        var engine = new SequentialCompletionEngine(loaded.Model, TextTokenizer.Load(Fixtures.TinyLlama("f32")));
        var options = new GenerationOptions { MaxNewTokens = 2 };
        var requests = new[] { new CompletionRequest("short", "Hello", options), new CompletionRequest("q-42", string.Concat(Enumerable.Repeat("word ", 300)), options) };
        using var results = engine.Complete(requests, TestContext.Current.CancellationToken).GetEnumerator();
        Assert.True(results.MoveNext());
        Assert.Equal("short", results.Current.Id);
        var error = Assert.Throws<DromedaryException>(() => results.MoveNext());
        Assert.StartsWith("request q-42: the prompt is ", error.Message);
    }
}
