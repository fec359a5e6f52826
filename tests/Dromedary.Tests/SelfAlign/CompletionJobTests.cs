using System.Text.Json;
using Dromedary.Model.Generation;
using Dromedary.SelfAlign.Jobs;
using Dromedary.SelfAlign.Runs;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

/// <summary>The resumable completion job with a stand-in engine: what each record holds, skipping, and per-id seeds.</summary>
public sealed class CompletionJobTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Answers in reverse request order (as a batched engine may) and writes each request's seed into its text.</summary>
    private sealed class ReversingEngine : ICompletionEngine
    {
        public List<CompletionRequest> Requests { get; } = [];

        public IEnumerable<Completion> Complete(IEnumerable<CompletionRequest> requests, CancellationToken cancel = default)
        {
            Requests.AddRange(requests);
            return Requests.AsEnumerable().Reverse().Select(request => new Completion(request.Id,
                $"{request.Prompt} seed={request.Options.Sampling.Seed}", [5, 6, 7], FinishReason.StopString, 3));
        }
    }

    private sealed class Recorder : IProgress<(int Done, int Total)>
    {
        public List<(int, int)> Reports { get; } = [];
        public void Report((int Done, int Total) value) => Reports.Add(value);
    }

    private IReadOnlyList<PromptRecord> Prompts(string text)
    {
        var path = _dir["prompts.jsonl"];
        File.WriteAllText(path, text);
        return PromptFile.Read(path);
    }

    private static readonly GenerationOptions Options = new() { Sampling = new SamplingOptions { Temperature = 1, Seed = 42 } };

    [Fact]
    public void Each_record_is_its_input_fields_plus_the_completion_in_completion_order()
    {
        var prompts = Prompts("{\"id\": 1, \"prompt\": \"A\", \"meta\": {\"k\": [1, 2.50]}}\n{\"prompt\": \"B\", \"completion\": \"old\", \"id\": \"b\"}\n");
        var engine = new ReversingEngine();
        var progress = new Recorder();
        var output = _dir["out.jsonl"];
        using (var log = JsonlLog.Open(output)) CompletionJob.Run(prompts, log, engine, Options, progress, TestContext.Current.CancellationToken);

        var seedB = RequestSeed.For(42, "b");
        var seed1 = RequestSeed.For(42, "1");
        Assert.Equal(
            $"{{\"prompt\":\"B\",\"id\":\"b\",\"completion\":\"B seed={seedB}\",\"finish_reason\":\"stop_string\",\"completion_tokens\":3}}\n" +
            $"{{\"id\":1,\"prompt\":\"A\",\"meta\":{{\"k\":[1,2.50]}},\"completion\":\"A seed={seed1}\",\"finish_reason\":\"stop_string\",\"completion_tokens\":3}}\n",
            File.ReadAllText(output));
        Assert.Equal([(0, 2), (1, 2), (2, 2)], progress.Reports);
        Assert.All(engine.Requests, request =>
        {
            Assert.Equal(Options with { Sampling = request.Options.Sampling }, request.Options);
            Assert.Equal(Options.Sampling with { Seed = request.Options.Sampling.Seed }, request.Options.Sampling);
        });
    }

    [Fact]
    public void Only_ids_not_yet_done_are_pending_in_file_order()
    {
        var prompts = Prompts("{\"id\": 3, \"prompt\": \"c\"}\n{\"id\": 1, \"prompt\": \"a\"}\n{\"id\": \"x\", \"prompt\": \"b\"}\n");
        Assert.Equal(["3", "x"], CompletionJob.Pending(prompts, new HashSet<string> { "1", "other" }).Select(p => p.Id));
    }

    [Fact]
    public void A_request_seed_depends_on_the_run_seed_and_the_id_only()
    {
        Assert.Equal(RequestSeed.For(1, "q-17"), RequestSeed.For(1, "q-17"));
        var seeds = new[] { RequestSeed.For(1, "a"), RequestSeed.For(1, "b"), RequestSeed.For(2, "a"), RequestSeed.For(1, ""), RequestSeed.For(1, "é") };
        Assert.Equal(seeds.Length, seeds.Distinct().Count());
    }

    [Theory]
    [InlineData(FinishReason.EndOfSequence, "end_of_sequence")]
    [InlineData(FinishReason.StopString, "stop_string")]
    [InlineData(FinishReason.MaxTokens, "max_tokens")]
    [InlineData(FinishReason.ContextFull, "context_full")]
    public void Finish_reasons_are_written_in_snake_case(FinishReason finish, string expected) =>
        Assert.Equal(expected, CompletionJob.FinishName(finish));

    [Fact]
    public void An_output_record_parses_back_as_one_json_object_per_line()
    {
        var prompts = Prompts("{\"id\": \"q\", \"prompt\": \"line one\\nline two \\\"quoted\\\" ✓\"}\n");
        var output = _dir["out.jsonl"];
        using (var log = JsonlLog.Open(output)) CompletionJob.Run(prompts, log, new ReversingEngine(), Options, new Recorder(), TestContext.Current.CancellationToken);
        var line = Assert.Single(File.ReadAllLines(output));
        using var json = JsonDocument.Parse(line);
        Assert.Equal($"line one\nline two \"quoted\" ✓ seed={RequestSeed.For(42, "q")}", json.RootElement.GetProperty("completion").GetString());
    }
}
