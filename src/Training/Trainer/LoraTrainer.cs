using System.Diagnostics;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Lora;
using Dromedary.Training.Data;
using Dromedary.Training.Lora;
using Dromedary.Training.Metrics;

namespace Dromedary.Training.Trainer;

/// <summary>How often to save a checkpoint and how many examples a micro-batch holds: speed and memory, not the result.</summary>
public sealed record TrainingPace(int MicroBatchSize, int CheckpointEvery);

/// <summary>One finished step, for a progress display.</summary>
public readonly record struct TrainingProgress(StepMetrics Metrics, int TotalSteps, bool Skipped);

/// <param name="Completed">False when stopped by the cancellation token before the last step.</param>
public sealed record TrainingOutcome(bool Completed, int Steps, string AdapterFolder);

/// <summary>
/// The LoRA training loop, the same for every kernel set (an <see cref="ILoraTrainingEngine"/> does the math):
/// per step, <c>BatchSize</c> examples in the epoch's seeded order, split into micro-batches whose losses are
/// all divided by the step's counted tokens; then the global gradient norm, torch's clipping factor, the
/// schedule's learning rate and one AdamW update. A step whose examples count no token is skipped (the data
/// cursor still moves on) and logged with a NaN loss. The output folder gets training_run.json, metrics.jsonl,
/// loss.svg, checkpoints every N steps and, at the end, the PEFT adapter.
/// </summary>
public sealed class LoraTrainer
{
    public const string RunFileName = "training_run.json";
    public const string MetricsFileName = "metrics.jsonl";
    public const string PlotFileName = "loss.svg";

    private readonly string _folder;
    private readonly TrainingSettings _settings;
    private readonly LlamaConfig _model;
    private readonly bool _resume;
    private readonly TrainingCheckpoint? _checkpoint;

    /// <summary>
    /// Checks the run folder before anything slow happens: without <paramref name="resume"/> it must not hold a
    /// run; with it, the run's settings must equal the saved ones, and the newest complete checkpoint is read.
    /// </summary>
    public LoraTrainer(string folder, TrainingSettings settings, LlamaConfig model, bool resume)
    {
        settings.Validate();
        (_folder, _settings, _model, _resume) = (folder, settings, model, resume);
        _checkpoint = PrepareFolder();
    }

    /// <summary>The step training starts from: 0, or that of the checkpoint being resumed.</summary>
    public int FirstStep => _checkpoint?.Step ?? 0;

    /// <summary>
    /// Trains <paramref name="initial"/> on the examples, or, when resuming from a checkpoint, continues its adapter
    /// (from step 0 when the run has no complete checkpoint yet).
    /// </summary>
    public TrainingOutcome Run(IReadOnlyList<TrainingSequence> examples, LoraAdapter initial, Func<LoraAdapter, ILoraTrainingEngine> createEngine,
        TrainingPace pace, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (examples.Count == 0) throw new DromedaryException("no training examples.");
        ArgumentOutOfRangeException.ThrowIfLessThan(pace.MicroBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(pace.CheckpointEvery);
        var checkpoint = _checkpoint;
        var adapter = checkpoint?.Adapter ?? initial;
        adapter.CheckFits(_model, "being trained");
        using var engine = createEngine(adapter);
        if (checkpoint != null) engine.ImportMoments(checkpoint.Moments);
        JsonFile.Write(Path.Combine(_folder, RunFileName), _settings.ToJson());

        var total = _settings.TotalSteps(examples.Count);
        var schedule = _settings.CreateSchedule(total);
        var counted = examples.Select(e => e.CountedTargets).ToArray();
        var order = new ExampleOrder(examples.Count, _settings.Seed, checkpoint?.Cursor ?? default);
        var updates = checkpoint?.Updates ?? 0;
        var first = FirstStep;
        var microBatch = new List<TrainingSequence>(pace.MicroBatchSize);
        var clock = Stopwatch.StartNew();
        var metricsPath = Path.Combine(_folder, MetricsFileName);
        using (var metrics = new MetricsLog(metricsPath, first + 1))
        {
            for (var step = first; step < total; step++)
            {
                if (cancellation.IsCancellationRequested) return new TrainingOutcome(false, step, _folder);
                var started = clock.Elapsed.TotalSeconds;
                var batch = order.NextBatch(_settings.BatchSize);
                var tokens = 0;
                foreach (var index in batch) tokens += counted[index];
                double loss = double.NaN, norm = double.NaN, learningRate = schedule.At(step);
                if (tokens > 0)
                {
                    loss = 0;
                    var lossScale = 1f / tokens;
                    for (var start = 0; start < batch.Length; start += pace.MicroBatchSize)
                    {
                        microBatch.Clear();
                        for (var i = start; i < Math.Min(batch.Length, start + pace.MicroBatchSize); i++) microBatch.Add(examples[batch[i]]);
                        loss += engine.ForwardBackward(microBatch, lossScale, step, start);
                    }
                    norm = engine.GradientNorm();
                    if (!double.IsFinite(norm))
                        throw new DromedaryException($"step {step + 1}: the gradient norm is {norm} (loss {loss}); the run diverged. " +
                                                     "Start a new run with a lower --lr or a longer --warmup.");
                    var clip = _settings.MaxGradNorm > 0 ? GradientNorm.ClipCoefficient(norm, _settings.MaxGradNorm) : 1;
                    engine.Step(learningRate, (float)clip, ++updates);
                }
                var seconds = clock.Elapsed.TotalSeconds;
                var line = new StepMetrics(step + 1, loss, learningRate, norm, tokens, tokens / Math.Max(seconds - started, 1e-9), seconds);
                metrics.Append(line);
                progress?.Report(new TrainingProgress(line, total, tokens == 0));
                var done = step + 1;
                if (pace.CheckpointEvery > 0 && done % pace.CheckpointEvery == 0 && done < total)
                {
                    new TrainingCheckpoint(done, updates, order.Cursor, _settings, engine.Adapter, engine.ExportMoments()).Save(_folder);
                    LossPlot.Write(Path.Combine(_folder, PlotFileName), MetricsLog.Read(metricsPath));
                }
            }
        }
        engine.Adapter.Save(_folder);
        LossPlot.Write(Path.Combine(_folder, PlotFileName), MetricsLog.Read(metricsPath));
        return new TrainingOutcome(true, total, _folder);
    }

    private TrainingCheckpoint? PrepareFolder()
    {
        var runPath = Path.Combine(_folder, RunFileName);
        if (!_resume && HoldsRun())
            throw new DromedaryException($"{_folder} already holds a training run; pass --resume to continue it, or choose another --out folder.");
        if (_resume && File.Exists(runPath))
            _settings.CheckSameAs(TrainingSettings.FromJson(JsonFile.Read(runPath), runPath), runPath);
        var checkpoint = _resume ? TrainingCheckpoint.LoadNewest(_folder, _model) : null;
        if (checkpoint != null)
            _settings.CheckSameAs(checkpoint.Settings, $"the checkpoint at step {checkpoint.Step}");
        Directory.CreateDirectory(_folder);
        return checkpoint;
    }

    private bool HoldsRun() =>
        new[] { RunFileName, MetricsFileName, LoraAdapter.WeightsFileName }.Any(name => File.Exists(Path.Combine(_folder, name)))
        || Directory.Exists(TrainingCheckpoint.Folder(_folder));
}
