using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Align;
using Dromedary.SelfAlign.Engraving;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.VerboseCloning;
using Dromedary.Training.Data;
using Xunit;

namespace Dromedary.Tests.SelfAlign.Align;

/// <summary>One uninterrupted tiny align run on the toy model, shared by the tests that read it.</summary>
public sealed class CompletedAlignRun : IDisposable
{
    private readonly TempDirectory _folder = new();

    public CompletedAlignRun()
    {
        Request = ToyAlign.Request(_folder["run"]);
        Outcome = ToyAlign.Run(Request, new ToyAlign.Models());
    }

    public AlignRequest Request { get; }
    public AlignOutcome Outcome { get; }

    public void Dispose() => _folder.Dispose();
}

public class AlignPipelineTests(CompletedAlignRun done) : IClassFixture<CompletedAlignRun>
{
    private string Run => done.Request.RunDirectory;

    [Fact]
    public void Every_stage_keeps_records_and_the_run_ends_with_an_adapter_and_a_report()
    {
        Assert.True(done.Outcome.Completed);
        foreach (var stage in AlignStage.All)
        {
            var marker = StageMarker.Read(stage.Path(Run));
            Assert.NotNull(marker);
            Assert.True(marker.Kept > 0, $"stage {stage.Id} kept nothing");
        }
        // Stage 2's own answers, not only the identity examples it adds.
        Assert.Contains(File.ReadLines(Path.Combine(AlignStage.SelfAlign.Path(Run), "kept.jsonl")), line => !line.Contains("\"id\":\"identity\""));
        Assert.True(File.Exists(Path.Combine(done.Request.Final, LoraAdapter.WeightsFileName)));
        var report = File.ReadAllText(done.Outcome.Report);
        foreach (var stage in AlignStage.All) Assert.Contains($"## Stage {stage.Id}: {stage.Name}", report);
        Assert.Contains("3-engrave/loss.svg", report);
        foreach (var stats in AlignStage.All.Select(s => Path.Combine(s.Path(Run), "stats.json")).Where(File.Exists))
            foreach (var (rule, count) in System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(stats))!.AsObject())
                Assert.Contains($"| {rule} | {count} |", report);
        var html = File.ReadAllText(Path.Combine(Run, AlignReport.HtmlFile));
        Assert.Equal(2, html.Split("<svg").Length - 1);
        Assert.Contains($"--adapter {Path.GetFullPath(done.Request.Final)}", report);
    }

    [Fact]
    public void The_stage_3_adapter_raises_the_likelihood_of_its_own_training_answers()
    {
        var data = Path.Combine(AlignStage.SelfAlign.Path(Run), "kept.jsonl");
        var (without, with) = LogLikelihoods(data, PrincipleEngraving.Template(), 192, AlignStage.Engrave.Path(Run));
        Assert.True(with > without, $"with the adapter {with}, without {without}");
    }

    [Fact]
    public void The_final_adapter_raises_the_likelihood_of_its_own_training_answers()
    {
        var data = Path.Combine(AlignStage.VerboseClone.Path(Run), VerboseCloneRun.KeptFile);
        var (without, with) = LogLikelihoods(data, VerboseCloneRun.Template(), 256, done.Request.Final);
        Assert.True(with > without, $"with the adapter {with}, without {without}");
    }

    [Fact]
    public void A_complete_run_is_skipped_and_only_its_report_is_rewritten()
    {
        File.Delete(done.Outcome.Report);
        var models = new ToyAlign.Models();
        var outcome = ToyAlign.Run(done.Request, models, cancel: TestContext.Current.CancellationToken);
        Assert.True(outcome.Completed);
        Assert.Equal(0, models.Opened);
        Assert.True(File.Exists(done.Outcome.Report));
    }

    [Fact]
    public void Rerunning_with_other_parameters_names_the_key_that_differs()
    {
        var other = ToyAlign.Request(Run, ToyAlign.TinyConfig.Replace("\"max_queries\": 6", "\"max_queries\": 7"));
        var models = new ToyAlign.Models();
        var error = Assert.Throws<DromedaryException>(() => ToyAlign.Run(other, models, cancel: TestContext.Current.CancellationToken));
        Assert.Contains("parameters.self_align.max_queries", error.Message);
        Assert.Contains("recorded 6, asked 7", error.Message);
        Assert.Equal(0, models.Opened);
    }

    [Fact]
    public void A_run_stopped_in_generation_and_again_in_training_resumes_to_the_uninterrupted_result()
    {
        using var folder = new TempDirectory();
        var request = ToyAlign.Request(folder["run"]);

        using (var cancel = new CancellationTokenSource())
        {
            // The fourth completion is self-instruct's second round, half done.
            var stopped = ToyAlign.Run(request, new ToyAlign.Models { CancelAfter = 3, Cancel = cancel }, cancel: cancel.Token);
            Assert.False(stopped.Completed);
            Assert.Equal(AlignStage.SelfInstruct, stopped.StoppedIn);
            Assert.Equal(3, File.ReadLines(Path.Combine(AlignStage.SelfInstruct.Path(request.RunDirectory), "raw.jsonl")).Count());
            Assert.Null(StageMarker.Read(AlignStage.SelfInstruct.Path(request.RunDirectory)));
        }
        using (var cancel = new CancellationTokenSource())
        {
            // 16 identity examples and stage 2's answers in batches of 4: step 3 is before the last, and past the
            // checkpoint of step 2, so the resumed run redoes step 3 from it.
            var stopped = ToyAlign.Run(request, new ToyAlign.Models(), new ToyAlign.Display { CancelAtStep = 3, Cancel = cancel }, cancel.Token);
            Assert.False(stopped.Completed);
            Assert.Equal(AlignStage.Engrave, stopped.StoppedIn);
        }
        Assert.True(ToyAlign.Run(request, new ToyAlign.Models(), cancel: TestContext.Current.CancellationToken).Completed);

        foreach (var stage in AlignStage.All)
        {
            var kept = stage == AlignStage.Engrave ? null : Path.Combine(stage.Path(Run), "kept.jsonl");
            if (kept is not null) Assert.Equal(File.ReadAllText(kept), File.ReadAllText(kept.Replace(Run, request.RunDirectory)));
            var raw = Path.Combine(stage.Path(request.RunDirectory), "raw.jsonl");
            if (File.Exists(raw)) Assert.Equal(File.ReadAllLines(raw.Replace(request.RunDirectory, Run)).Order(), File.ReadAllLines(raw).Order());
        }
        foreach (var adapter in new[] { AlignStage.Engrave.Path(Run), done.Request.Final })
            Assert.Equal(File.ReadAllBytes(Path.Combine(adapter, LoraAdapter.WeightsFileName)),
                File.ReadAllBytes(Path.Combine(adapter.Replace(Run, request.RunDirectory), LoraAdapter.WeightsFileName)));
    }

    [Fact]
    public void Chat_talks_to_the_final_adapter()
    {
        var result = Cli.Cli.RunWithInput("Who are you?\n", "chat", "--model", ToyAlign.ToyModel, "--adapter", done.Request.Final,
            "--precision", "fp32", "--threads", "2", "--max-new-tokens", "16");
        // The toy's reply may be empty; that chat loaded the adapter and ended its one turn is what counts.
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.EndsWith("\n", result.Stdout);
    }

    /// <summary>The summed log-probability of the answer tokens of every training example, without and with the adapter.</summary>
    private static (double Without, double With) LogLikelihoods(string data, TrainingTemplate template, int cutoff, string adapter)
    {
        var tokenizer = TextTokenizer.Load(ToyAlign.ToyModel);
        var builder = new ExampleBuilder(tokenizer, template, cutoff);
        var examples = TrainingRecordReader.Read(data).Select(builder.Build).ToList();
        double Sum(LoraAdapter? lora)
        {
            using var kernels = KernelRegistry.Create("cpu", 2);
            using var model = LlamaModel.Load(ToyAlign.ToyModel, kernels, new ModelLoadOptions(Precision.Fp32, Adapter: lora));
            var total = 0.0;
            foreach (var example in examples)
            {
                var logprobs = Scoring.TokenLogProbs(model, example.InputIds);
                for (var i = 1; i < example.Labels.Length; i++)
                    if (example.Labels[i] != TokenizedExample.IgnoreLabel) total += logprobs[i - 1];
            }
            return total;
        }
        return (Sum(null), Sum(LoraAdapter.Load(adapter, LlamaConfig.Load(ToyAlign.ToyModel))));
    }
}
