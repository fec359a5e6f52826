using Dromedary.Kernels.Cpu;
using Dromedary.Model.Generation;
using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Dromedary.Tests.Model;
using Xunit;

namespace Dromedary.Tests.Generation;

/// <summary>
/// The batched engine against the one-at-a-time references (<see cref="SequentialCompletionEngine"/>,
/// <see cref="SequentialScorer"/>) and against plain full forwards, on the tiny fixture model.
/// </summary>
public sealed class BatchedEngineTests : IClassFixture<BatchedEngineTests.Loaded>
{
    private static readonly TextTokenizer Tokenizer = TextTokenizer.Load(Fixtures.TinyLlama("f32"));

    /// <summary>A shared instruction block of a few KV blocks, as the principle prompt is for stage 2.</summary>
    private const string Shared = "The quick brown fox jumps over the lazy dog. A journey of a thousand miles begins with one step.\n" +
                                  "Answer the question below in one short sentence.\n";

    private static readonly string[] Queries =
    [
        "Question: what is the sky?", "Question: why?", "Question: how many legs has a dog?", "Hello world",
        "Question: where do foxes live, and what do they eat in the winter?", "Question: who", "Question: name a colour.",
    ];

    /// <summary>One int8 model on the CPU set for the whole class (loading is the slow part).</summary>
    public sealed class Loaded : IDisposable
    {
        internal ForwardTests.TestModel Model { get; } = ForwardTests.Load("f32", Precision.Int8);

        public void Dispose() => Model.Dispose();
    }

    private readonly LlamaModel _model;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public BatchedEngineTests(Loaded loaded) => _model = loaded.Model.Model;

    /// <summary>Mixed lengths, some greedy and some sampled with their own seeds, EOS banned in some so they run to their limit.</summary>
    private static List<CompletionRequest> Requests(bool sampled)
    {
        var requests = new List<CompletionRequest>();
        for (var i = 0; i < Queries.Length * 2; i++)
        {
            var sampling = new SamplingOptions { LogitBias = i % 2 == 0 ? new Dictionary<int, float> { [Tokenizer.EosId] = -100 } : new Dictionary<int, float>() };
            if (sampled)
                sampling = sampling with { Temperature = 0.8f, TopP = 0.9f, TopK = i % 3 == 0 ? 20 : 0, Seed = (ulong)(7 + i), NgramPenalties = [0.2f, 0.1f, 0f, 0f], PenaltyWordStartsOnly = false };
            var prompt = (i % 4 == 3 ? "" : Shared) + Queries[i % Queries.Length];
            requests.Add(new CompletionRequest($"r{i}", prompt, new GenerationOptions { MaxNewTokens = 3 + 5 * (i % 5), Sampling = sampling }));
        }
        return requests;
    }

    private static Dictionary<string, Completion> ById(IEnumerable<Completion> completions) => completions.ToDictionary(c => c.Id);

    private static void AssertSame(IReadOnlyDictionary<string, Completion> expected, IReadOnlyDictionary<string, Completion> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (id, reference) in expected)
        {
            var completion = actual[id];
            Assert.True(reference.Tokens.SequenceEqual(completion.Tokens), $"{id}: [{string.Join(",", reference.Tokens)}] vs [{string.Join(",", completion.Tokens)}]");
            Assert.Equal(reference.Text, completion.Text);
            Assert.Equal(reference.Finish, completion.Finish);
            Assert.Equal(reference.PromptTokens, completion.PromptTokens);
        }
    }

    private BatchedCompletionEngine Engine(int sequences, bool share = true, int blocks = 0, int step = 64) =>
        new(_model, Tokenizer, new EngineOptions { MaxSequences = sequences, SharePrefixes = share, KvBlocks = blocks, StepTokens = step });

    [Fact]
    public void Greedy_output_is_the_argmax_of_full_forwards_step_by_step()
    {
        const int steps = 12;
        using var engine = Engine(2);
        var prompt = Shared + Queries[0];
        var completion = engine.Complete([new CompletionRequest("a", prompt, new GenerationOptions { MaxNewTokens = steps })], Cancel).Single();

        var tokens = Tokenizer.Encode(prompt).ToList();
        var expected = new List<int>();
        for (var step = 0; step < completion.Tokens.Length; step++)
        {
            // A fresh forward of the whole sequence, no cache carried over: its last row's argmax.
            var logProbs = new float[tokens.Count * _model.Config.VocabSize];
            using (var session = new LlamaSession(_model, tokens.Count)) session.Forward([.. tokens], LogitsRows.All, logProbs);
            var next = CpuLogSoftmax.Argmax(logProbs.AsSpan((tokens.Count - 1) * _model.Config.VocabSize));
            expected.Add(next);
            tokens.Add(next);
        }
        Assert.Equal(expected, completion.Tokens);
        Assert.True(completion.Tokens.Length == steps || completion.Finish == FinishReason.EndOfSequence);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batched_equals_sequential_whatever_the_batch_size_and_order(bool sampled)
    {
        var requests = Requests(sampled);
        var expected = ById(new SequentialCompletionEngine(_model, Tokenizer).Complete(requests, Cancel));
        Assert.Contains(expected.Values, c => c.Finish == FinishReason.MaxTokens && c.Tokens.Length >= 20);

        foreach (var (sequences, reversed) in new[] { (1, false), (3, true), (16, false) })
        {
            using var engine = Engine(sequences);
            IEnumerable<CompletionRequest> order = reversed ? Enumerable.Reverse(requests) : requests;
            AssertSame(expected, ById(engine.Complete(order, Cancel)));
        }
    }

    [Fact]
    public void The_prefix_cache_is_hit_and_its_blocks_are_refcounted_and_released()
    {
        var requests = Requests(sampled: false);
        var sharing = requests.Count(r => r.Prompt.StartsWith(Shared, StringComparison.Ordinal));
        var sharedBlocks = (Tokenizer.Encode(Shared).Length - 1) / 16;
        Assert.True(sharedBlocks >= 2, $"{sharedBlocks} shared blocks");

        using var engine = Engine(4);
        var pool = engine.Blocks;
        var seen = 0;
        foreach (var _ in engine.Complete(requests, Cancel))
        {
            // While requests are in flight, the shared blocks are referenced by each sequence that holds them.
            seen++;
            Assert.True(pool.InUse <= pool.Blocks);
        }
        Assert.Equal(requests.Count, seen);
        // Every request but the first with the shared prompt reused its blocks.
        Assert.True(pool.PrefixHits >= (sharing - 1) * sharedBlocks, $"{pool.PrefixHits} hits");
        Assert.Equal(0, pool.InUse);
        Assert.True(pool.CachedBlocks >= sharedBlocks);
        for (var block = 0; block < pool.Blocks; block++) Assert.Equal(0, pool.References(block));

        // Across calls: the cached prefix serves the next call's first request too.
        var hits = pool.PrefixHits;
        engine.Complete(requests.Take(1), Cancel).Single();
        Assert.True(pool.PrefixHits - hits >= sharedBlocks);

        using var unshared = Engine(4, share: false);
        AssertSame(ById(engine.Complete(requests, Cancel)), ById(unshared.Complete(requests, Cancel)));
        Assert.Equal(0, unshared.Blocks.PrefixHits);
    }

    [Fact]
    public void Shared_blocks_are_held_while_sequences_run_on_them()
    {
        var request = new CompletionRequest("x", Shared + Queries[2], new GenerationOptions { MaxNewTokens = 30, Sampling = new SamplingOptions { LogitBias = new Dictionary<int, float> { [Tokenizer.EosId] = -100 } } });
        using var engine = Engine(4);
        engine.Complete([request], Cancel).Single();
        var pool = engine.Blocks;
        var hits = pool.PrefixHits;
        var longRequest = request with { Id = "long" };
        var shortRequest = request with { Id = "short", Options = request.Options with { MaxNewTokens = 1 } };
        using var results = engine.Complete([longRequest, shortRequest, shortRequest with { Id = "short2" }], Cancel).GetEnumerator();
        Assert.True(results.MoveNext());
        // The first to finish is a short one; the long one still runs on the shared blocks.
        Assert.StartsWith("short", results.Current.Id);
        var shared = (Tokenizer.Encode(Shared).Length - 1) / 16;
        Assert.True(pool.PrefixHits - hits >= 3 * shared);
        var heldBlocks = Enumerable.Range(0, pool.Blocks).Where(b => pool.References(b) > 0).ToArray();
        Assert.NotEmpty(heldBlocks);
        while (results.MoveNext()) { }
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void Too_few_blocks_evict_the_cache_and_still_give_the_same_output()
    {
        var requests = Requests(sampled: true);
        var expected = ById(new SequentialCompletionEngine(_model, Tokenizer).Complete(requests, Cancel));
        // Room for about two sequences at a time, so cached blocks are evicted as new ones are needed.
        using var engine = Engine(3, blocks: 12);
        AssertSame(expected, ById(engine.Complete(requests, Cancel)));
        Assert.Equal(0, engine.Blocks.InUse);

        using var tiny = Engine(1, blocks: 2);
        var error = Assert.Throws<DromedaryException>(() => tiny.Complete(requests.Take(1), Cancel).ToList());
        Assert.Contains("KV blocks", error.Message);
    }

    [Fact]
    public void Continuous_batching_returns_short_completions_while_a_long_one_runs()
    {
        var noEos = new SamplingOptions { LogitBias = new Dictionary<int, float> { [Tokenizer.EosId] = -100 } };
        var requests = new List<CompletionRequest> { new("long", Shared + Queries[1], new GenerationOptions { MaxNewTokens = 60, Sampling = noEos }) };
        for (var i = 0; i < 6; i++)
            requests.Add(new CompletionRequest($"short{i}", Queries[i], new GenerationOptions { MaxNewTokens = 1 + i % 3, Sampling = noEos }));
        var expected = ById(new SequentialCompletionEngine(_model, Tokenizer).Complete(requests, Cancel));

        using var engine = Engine(2);
        var order = engine.Complete(requests, Cancel).ToList();
        AssertSame(expected, ById(order));
        // Two slots: the long request holds one while every short one passes through the other.
        Assert.Equal("long", order[^1].Id);
        Assert.Equal(60, order[^1].Tokens.Length);
    }

    [Fact]
    public void A_stop_string_split_across_tokens_ends_the_text_as_the_reference_does()
    {
        var prompt = "The quick brown fox";
        var free = TextGeneration.Run(_model, Tokenizer, prompt, new GenerationOptions { MaxNewTokens = 12 });
        var boundary = Tokenizer.Decode([.. Tokenizer.Encode(prompt), .. free.Tokens[..2]]).Length - prompt.Length;
        var stop = free.Text.Substring(boundary - 1, 2);
        var requests = new[]
        {
            new CompletionRequest("stopped", prompt, new GenerationOptions { MaxNewTokens = 12, StopStrings = [stop] }),
            new CompletionRequest("free", prompt, new GenerationOptions { MaxNewTokens = 12 }),
        };
        using var engine = Engine(2);
        var results = ById(engine.Complete(requests, Cancel));
        Assert.Equal(FinishReason.StopString, results["stopped"].Finish);
        Assert.Equal(free.Text[..(boundary - 1)], results["stopped"].Text);
        AssertSame(ById(new SequentialCompletionEngine(_model, Tokenizer).Complete(requests, Cancel)), results);
    }

    [Fact]
    public void A_prompt_too_long_loses_its_last_lines_until_it_fits()
    {
        // Context 64, 16 new tokens: a prompt may take 48 tokens.
        var lines = Enumerable.Range(0, 12).Select(i => $"Line {i} of the quick brown fox.").ToArray();
        var prompt = string.Join("\n", lines);
        using var engine = new BatchedCompletionEngine(_model, Tokenizer, new EngineOptions { MaxSequences = 2, StepTokens = 32, Context = 64 });
        var options = new GenerationOptions { MaxNewTokens = 16 };
        var results = ById(engine.Complete([new("long", prompt, options), new("unbreakable", string.Concat(lines), options)], Cancel));

        var kept = lines.Length;
        while (Tokenizer.Encode(string.Join("\n", lines[..kept])).Length > 64 - 16) kept--;
        Assert.InRange(kept, 1, lines.Length - 1);
        var expected = TextGeneration.Run(_model, Tokenizer, string.Join("\n", lines[..kept]), options);
        Assert.Equal(expected.Tokens, results["long"].Tokens);
        Assert.Equal(expected.PromptTokens, results["long"].PromptTokens);
        Assert.Equal(FinishReason.ContextFull, results["unbreakable"].Finish);
        Assert.Empty(results["unbreakable"].Tokens);
    }

    [Fact]
    public void The_scorer_equals_the_sequential_scorer_and_shares_prefixes()
    {
        var context = Tokenizer.Encode(Shared + "Question: is the fox quick?\nAnswer:");
        var requests = new List<ScoringRequest>();
        foreach (var answer in new[] { " yes", " no", " the fox is very quick indeed", "" })
            requests.Add(new ScoringRequest(context, Tokenizer.Encode(answer, addBos: false)));
        requests.Add(new ScoringRequest(Tokenizer.Encode("Hello"), Tokenizer.Encode(" world, and hello again to the whole wide world", addBos: false)));
        requests.Add(new ScoringRequest([Tokenizer.BosId], Tokenizer.Encode("Hello", addBos: false)));

        var expected = new SequentialScorer(_model).Score(requests, Cancel);
        using var scorer = new BatchedScorer(_model, new EngineOptions { MaxSequences = 3, StepTokens = 16 });
        var actual = scorer.Score(requests, Cancel);

        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            for (var j = 0; j < expected[i].Length; j++) Assert.True(Math.Abs(expected[i][j] - actual[i][j]) < 1e-5, $"request {i} token {j}: {expected[i][j]} vs {actual[i][j]}");
        }
        Assert.True(scorer.Blocks.PrefixHits >= 2 * ((context.Length - 1) / 16));
        Assert.Equal(0, scorer.Blocks.InUse);
    }
}
