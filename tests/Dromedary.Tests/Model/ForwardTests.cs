using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Generation;
using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Xunit;

namespace Dromedary.Tests.Model;

/// <summary>The CPU forward pass against the reference log-probs of an independent float64 implementation.</summary>
public class ForwardTests
{
    /// <summary>fp32 weights: only summation order differs from the float64 reference.</summary>
    private const double Fp32Tolerance = 1e-4;

    /// <summary>A model with its own kernel set, both freed together.</summary>
    internal sealed class TestModel(IKernelSet kernels, LlamaModel model) : IDisposable
    {
        public IKernelSet Kernels { get; } = kernels;
        public LlamaModel Model { get; } = model;

        public void Dispose()
        {
            Model.Dispose();
            Kernels.Dispose();
        }
    }

    internal static TestModel Load(string variant, Precision precision, string kernels = "cpu", int threads = 2, int group = 0)
    {
        var set = KernelRegistry.Create(kernels, threads);
        return new TestModel(set, LlamaModel.Load(Fixtures.TinyLlama(variant), set, new ModelLoadOptions(precision, group)));
    }

    internal static double MaxError(IReadOnlyList<float> actual, IReadOnlyList<double> expected)
    {
        Assert.Equal(expected.Count, actual.Count);
        return expected.Select((e, i) => Math.Abs(e - actual[i])).Max();
    }

    [Theory]
    [InlineData("f32", "f32")]
    [InlineData("f16", "f16")]
    [InlineData("bf16", "bf16")]
    [InlineData("sharded", "f32")]
    public void Fp32_path_matches_the_reference(string variant, string reference)
    {
        using var loaded = Load(variant, Precision.Fp32);
        var model = loaded.Model;
        foreach (var expected in Fixtures.ReferenceLogprobs(reference))
        {
            var actual = Scoring.TokenLogProbs(model, expected.Tokens);
            Assert.True(MaxError(actual, expected.Logprobs) < Fp32Tolerance, $"{variant} '{expected.Text}': {MaxError(actual, expected.Logprobs)}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Decoding_through_the_kv_cache_equals_the_full_forward(int chunk)
    {
        using var loaded = Load("f32", Precision.Fp32);
        var model = loaded.Model;
        var tokens = Fixtures.ReferenceLogprobs("f32")[2].Tokens;
        var vocab = model.Config.VocabSize;
        var full = new float[tokens.Length * vocab];
        using (var session = new LlamaSession(model, tokens.Length)) session.Forward(tokens, LogitsRows.All, full);

        using var stepwise = new LlamaSession(model, tokens.Length, maxChunk: chunk);
        var row = new float[vocab];
        for (var i = 0; i < tokens.Length; i++)
        {
            stepwise.Forward(tokens.AsSpan(i, 1), LogitsRows.Last, row);
            for (var v = 0; v < vocab; v++) Assert.Equal(full[i * vocab + v], row[v], 1e-5);
        }
        Assert.Equal(tokens.Length, stepwise.Position);
    }

    [Theory]
    [InlineData(Precision.Int8)]
    [InlineData(Precision.Fp32)]
    public void Decoding_allocates_nothing_once_warm(Precision precision)
    {
        using var loaded = Load("f32", precision);
        using var session = new LlamaSession(loaded.Model, 64, maxChunk: 16);
        var logProbs = new float[loaded.Model.Config.VocabSize];
        int[] token = [5];
        session.Forward(Fixtures.ReferenceLogprobs("f32")[1].Tokens, LogitsRows.Last, logProbs);
        for (var i = 0; i < 3; i++) session.Forward(token, LogitsRows.Last, logProbs);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 8; i++) session.Forward(token, LogitsRows.Last, logProbs);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Greedy_generation_takes_the_reference_argmax()
    {
        using var loaded = Load("f32", Precision.Fp32);
        var model = loaded.Model;
        var tokenizer = TextTokenizer.Load(Fixtures.TinyLlama("f32"));
        var reference = Fixtures.ReferenceLogprobs("f32")[0];
        var expected = CpuLogSoftmax.Argmax(reference.LastLogprobs!.Select(x => (float)x).ToArray());

        var result = TextGeneration.Run(model, tokenizer, reference.Text, new GenerationOptions { MaxNewTokens = 5 });

        Assert.Equal(expected, result.Tokens[0]);
        Assert.Equal(5, result.Tokens.Length);
        Assert.Equal(FinishReason.MaxTokens, result.Finish);
        Assert.Equal(tokenizer.Decode([.. reference.Tokens, .. result.Tokens]), tokenizer.Decode(reference.Tokens) + result.Text);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var tokens = Fixtures.ReferenceLogprobs("f32")[3].Tokens;
        float[] Score(int threads)
        {
            using var loaded = Load("f32", Precision.Int8, threads: threads);
            return Scoring.TokenLogProbs(loaded.Model, tokens);
        }
        Assert.Equal(Score(1), Score(3));
    }

    [Fact]
    public void A_text_longer_than_the_context_is_refused()
    {
        using var loaded = Load("f32", Precision.Fp32);
        var model = loaded.Model;
        var tokens = Enumerable.Repeat(5, model.Config.MaxPositions + 1).ToArray();
        var error = Assert.Throws<DromedaryException>(() => Scoring.TokenLogProbs(model, tokens));
        Assert.Contains("max_position_embeddings", error.Message);
    }
}
