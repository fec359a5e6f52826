using System.Diagnostics;
using System.Text.Json.Nodes;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Engraving;
using Dromedary.SelfAlign.FineTuning;
using Dromedary.SelfAlign.Principles;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.Runs;
using Dromedary.SelfAlign.SelfInstruct;
using Dromedary.SelfAlign.Tgrt;
using Dromedary.SelfAlign.VerboseCloning;

namespace Dromedary.SelfAlign.Align;

/// <summary>
/// `align`: stages 1a → 4 in order (METHOD.md §1), each in its own folder of the run. A stage whose folder holds
/// complete.json is skipped; any other resumes through the stage's own resume (raw.jsonl, training checkpoints).
/// Stage 2 answers the stage-1 instructions and TGRT questions together; stage 4 answers the same queries and the
/// identity questions with the stage-3 adapter, then trains a fresh LoRA, copied to RUN/final. A stage that keeps
/// nothing stops the run. The report is rewritten at the end, also when every stage was already complete.
/// </summary>
public sealed class AlignPipeline(AlignRequest request, IAlignModels models, IAlignDisplay display)
{
    public const string QueriesFile = "queries.jsonl";
    public const string QuestionsFile = "questions.jsonl";

    private readonly AlignConfig _config = request.Config;
    private readonly AlignOptions _options = new(request);
    private IAlignModel? _generator;

    public AlignOutcome Run(CancellationToken cancel = default)
    {
        AlignRunFile.Claim(request.RunDirectory, AlignRunFile.Describe(request));
        try
        {
            foreach (var stage in AlignStage.All)
            {
                var folder = stage.Path(request.RunDirectory);
                var marker = StageMarker.Read(folder);
                var heading = $"stage {stage.Number} of {AlignStage.All.Count}: {stage.Id} {stage.Name}";
                if (marker is null)
                {
                    display.Say($"{heading} — {stage.Purpose}");
                    var clock = Stopwatch.StartNew();
                    var before = StageMarker.ElapsedBefore(folder);
                    int? kept;
                    try
                    {
                        kept = RunStage(stage, folder, cancel);
                    }
                    catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                    {
                        kept = null;
                    }
                    if (kept is null)
                    {
                        StageMarker.SaveElapsed(folder, before + clock.Elapsed.TotalSeconds);
                        display.Say($"stopped in stage {stage.Id} {stage.Name}; what it finished is saved, and the same command resumes it.");
                        return new AlignOutcome(false, stage, AlignReport.MarkdownPath(request.RunDirectory));
                    }
                    marker = new StageMarker(InputCount(stage, folder), kept.Value, before + clock.Elapsed.TotalSeconds);
                    marker.Write(folder);
                }
                else display.Say($"{heading}: complete, skipped");
                if (Starved(stage) is { } emptied) throw Empty(emptied, stage);
                if (marker.Kept == 0) display.Say($"stage {stage.Id} {stage.Name} kept no records; the next stages still have the other stages' records.");
                if (stage == AlignStage.SelfAlign) ReleaseGenerator();
            }
        }
        finally
        {
            ReleaseGenerator();
        }
        var report = AlignReport.Write(request);
        display.Say($"final adapter: {request.Final}");
        return new AlignOutcome(true, null, report);
    }

    /// <summary>Runs (or resumes) one stage; returns the records it kept, or null when cancelled.</summary>
    private int? RunStage(AlignStage stage, string folder, CancellationToken cancel)
    {
        if (stage == AlignStage.SelfInstruct)
            return Generate(stage, folder, cancel, (context, tokenizer) => SelfInstructStage.Run(_options.SelfInstruct(tokenizer), context));
        if (stage == AlignStage.TgrtTopics)
            return Generate(stage, folder, cancel, (context, tokenizer) => TgrtTopicsStage.Run(_options.TgrtTopics(tokenizer), context));
        if (stage == AlignStage.TgrtQuestions)
            return Generate(stage, folder, cancel, (context, tokenizer) =>
                TgrtQuestionsStage.Run(_options.TgrtQuestions(tokenizer, TypedTopic.Read(KeptOf(AlignStage.TgrtTopics))), context));
        if (stage == AlignStage.SelfAlign) return SelfAlign(folder, cancel);
        if (stage == AlignStage.Engrave) return Train(stage, AlignConfig.Engrave, KeptOf(AlignStage.SelfAlign), folder, PrincipleEngraving.Template(), cancel)
            ? RecordCount(KeptOf(AlignStage.SelfAlign)) : null;
        return VerboseClone(folder, cancel);
    }

    /// <summary>A generation stage on the base; the stage gets its context and the tokenizer.</summary>
    private int? Generate(AlignStage stage, string folder, CancellationToken cancel, Func<StageContext, TextTokenizer, StageSummary> run)
    {
        var model = Generator();
        var summary = display.Items(stage.Name, "items", progress =>
            run(new StageContext(folder, ShardSpec.Whole, request.Seed, model.Engine, null, progress) { Cancellation = cancel }, model.Tokenizer));
        cancel.ThrowIfCancellationRequested();
        if (!summary.Complete) throw new InvalidOperationException($"stage {stage.Id} ended incomplete without being cancelled.");
        return summary.Kept;
    }

    private int? SelfAlign(string folder, CancellationToken cancel)
    {
        var queries = Queries();
        Directory.CreateDirectory(folder);
        RunFolder.WriteJsonl(Path.Combine(folder, QueriesFile), queries.Select(q => new JsonObject { ["instruction"] = q.Instruction, ["input"] = q.Input }));
        Generate(AlignStage.SelfAlign, folder, cancel, (context, tokenizer) => SelfAlignStage.Run(_options.SelfAlign(tokenizer, queries), context));
        // Stage 3 trains on the whole set: the kept answers and the identity examples.
        return RecordCount(KeptOf(AlignStage.SelfAlign));
    }

    private int? VerboseClone(string folder, CancellationToken cancel)
    {
        var raw = Path.Combine(folder, VerboseCloneRun.RawFile);
        var kept = Path.Combine(folder, VerboseCloneRun.KeptFile);
        var questions = VerboseQuestions();
        Directory.CreateDirectory(folder);
        RunFolder.WriteJsonl(Path.Combine(folder, QuestionsFile), questions.Select(q => new JsonObject { ["instruction"] = q.Instruction, ["input"] = q.Input }));
        var prompts = VerboseGeneration.Prompts(questions, VerbosePrompt.DefaultMeta(), null);
        var (pending, scan) = VerboseGeneration.Pending(prompts, raw, resume: true);
        if (scan.Repair is { } repair) display.Say(repair);
        if (pending.Count > 0)
        {
            using var model = models.Open(AlignStage.Engrave.Path(request.RunDirectory));
            var options = VerbosePrompt.Generation((ulong)request.Seed, _config.Int(AlignConfig.VerboseClone, "max_new_tokens"));
            display.Items("verbose answers", "answers", progress =>
            {
                VerboseGeneration.Run(pending, raw, model.Engine, options, progress, cancel);
                return 0;
            });
            cancel.ThrowIfCancellationRequested();
        }
        var counts = VerboseCloneRun.Filter(raw, kept, Path.Combine(folder, VerboseCloneRun.StatsFile));
        if (counts["kept"] == 0) throw Empty([AlignStage.VerboseClone], AlignStage.VerboseClone);
        var adapter = Path.Combine(folder, VerboseCloneRun.AdapterFolder);
        if (!Train(AlignStage.VerboseClone, AlignConfig.VerboseClone, kept, adapter, VerboseCloneRun.Template(), cancel)) return null;
        Publish(adapter, request.Final);
        return counts["kept"];
    }

    /// <summary>Trains (or resumes) a LoRA on the base; false when cancelled.</summary>
    private bool Train(AlignStage stage, string section, string data, string folder, TrainingTemplate template, CancellationToken cancel)
    {
        var options = _options.Training(section, data, folder, template);
        var run = FineTune.Prepare(options);
        if (run.FirstStep > 0) display.Say($"resuming {folder} after step {run.FirstStep}");
        using var model = models.OpenForTraining(run);
        var outcome = display.Training($"{stage.Name} training", progress => run.Run(model.Model, progress, cancel));
        return outcome.Completed;
    }

    private IAlignModel Generator() => _generator ??= models.Open(null);

    private void ReleaseGenerator()
    {
        _generator?.Dispose();
        _generator = null;
    }

    /// <summary>Stage 1d (METHOD.md §2.4): the Self-Instruct instructions and the TGRT questions, shuffled with the run's seed, capped.</summary>
    private List<Query> Queries()
    {
        List<Query> all = [.. KeptQueries(AlignStage.SelfInstruct), .. KeptQueries(AlignStage.TgrtQuestions)];
        return Seeds.Shuffle(Seeds.Random(request.Seed, -2), all).Take(_config.OptionalInt(AlignConfig.SelfAlign, "max_queries") ?? int.MaxValue).ToList();
    }

    /// <summary>Stage 4's questions (METHOD.md §5.1): every stage-2 query, kept or not, and the identity questions, shuffled, capped.</summary>
    private List<Query> VerboseQuestions()
    {
        List<Query> all = [.. Query.Read(Path.Combine(AlignStage.SelfAlign.Path(request.RunDirectory), QueriesFile)),
            .. _options.Identity().Select(e => new Query(e.Question, ""))];
        return Seeds.Shuffle(Seeds.Random(request.Seed, -4), all).Take(_config.OptionalInt(AlignConfig.VerboseClone, "max_queries") ?? int.MaxValue).ToList();
    }

    /// <summary>A stage's kept records as queries; none when it kept none (the reader refuses an empty file).</summary>
    private IReadOnlyList<Query> KeptQueries(AlignStage stage) =>
        StageMarker.Read(stage.Path(request.RunDirectory))?.Kept > 0 ? Query.Read(KeptOf(stage)) : [];

    private string KeptOf(AlignStage stage) => Path.Combine(stage.Path(request.RunDirectory), "kept.jsonl");

    private static int RecordCount(string jsonl) => File.ReadLines(jsonl).Count(line => line.Trim().Length > 0);

    /// <summary>What the stage worked through, for the report: prompts or queries, or training examples.</summary>
    private int InputCount(AlignStage stage, string folder)
    {
        if (stage == AlignStage.Engrave) return RecordCount(KeptOf(AlignStage.SelfAlign));
        if (stage == AlignStage.VerboseClone) return RecordCount(Path.Combine(folder, QuestionsFile));
        return RecordCount(Path.Combine(folder, "raw.jsonl"));
    }

    /// <summary>Copies the PEFT adapter's files (adapter_config.json, adapter_model.safetensors) into RUN/final, each written whole.</summary>
    private static void Publish(string adapter, string final)
    {
        Directory.CreateDirectory(final);
        foreach (var file in Directory.GetFiles(adapter, "adapter_*"))
            Dromedary.Model.Safetensors.AtomicFile.Write(Path.Combine(final, Path.GetFileName(file)), File.ReadAllBytes(file));
    }

    /// <summary>
    /// The stages whose empty results leave the stage after <paramref name="stage"/> nothing to work on, or null. Stage
    /// 1b works from the seeds, so an empty 1a stops nothing by itself; stage 2 answers 1a's and 1c's records together.
    /// </summary>
    private AlignStage[]? Starved(AlignStage stage)
    {
        int Kept(AlignStage s) => StageMarker.Read(s.Path(request.RunDirectory))?.Kept ?? 0;
        if (stage == AlignStage.SelfInstruct) return null;
        if (stage == AlignStage.TgrtQuestions)
            return Kept(AlignStage.SelfInstruct) + Kept(AlignStage.TgrtQuestions) == 0 ? [AlignStage.SelfInstruct, AlignStage.TgrtQuestions] : null;
        return Kept(stage) == 0 ? [stage] : null;
    }

    private DromedaryException Empty(AlignStage[] stages, AlignStage last)
    {
        var counts = stages.Select(stage =>
        {
            var stats = Path.Combine(stage.Path(request.RunDirectory), "stats.json");
            var text = File.Exists(stats) ? JsonNode.Parse(File.ReadAllText(stats))?.ToJsonString(JsonText.Compact) : "no stats.json";
            return $"stage {stage.Id} {stage.Name} kept no records: {stats} {text}";
        });
        var next = last.Number < AlignStage.All.Count ? $"stage {AlignStage.All[last.Number].Id} {AlignStage.All[last.Number].Name}" : "training";
        return new DromedaryException($"{string.Join("; ", counts)}. So {next} has nothing to work on; a larger scale (--config) or a better base model may keep some.");
    }
}
