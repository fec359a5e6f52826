using Dromedary.Model.Lora;
using Dromedary.Tests.Lora;
using Dromedary.Training.Lora;
using Dromedary.Training.Metrics;
using Dromedary.Training.Trainer;
using Xunit;

namespace Dromedary.Tests.Training;

/// <summary>
/// The trainer loop on the tiny model (fp32, rank 4 on all seven projections, random non-zero A and B): it learns,
/// its micro-batches add up to the whole batch, and a resumed run is the uninterrupted one to the bit.
/// </summary>
public sealed class LoraTrainerTests(ITestOutputHelper output)
{
    [Fact]
    public void The_tiny_model_overfits_three_short_sequences()
    {
        using var folder = new TempDirectory();
        var settings = TrainerRuns.Settings(learningRate: 2e-2, schedule: "constant", warmup: 0, epochs: 40, batch: 3);
        TrainerRuns.Train(folder.Path, settings, LoraFixtures.Sequences(), TrainerRuns.Adapter());

        var losses = MetricsLog.Read(folder[LoraTrainer.MetricsFileName]).Select(m => m.Loss).ToArray();
        output.WriteLine(string.Join(", ", losses.Select(l => l.ToString("F3"))));
        Assert.Equal(40, losses.Length);
        Assert.True(losses[0] > 6 && losses[^1] < 0.35, $"loss from {losses[0]} to {losses[^1]}");
        Assert.True(File.Exists(folder[LoraTrainer.PlotFileName]));
    }

    /// <summary>
    /// Micro-batches of 1 and of 3 on the same steps (dropout on; masks are keyed by a sequence's place in the step).
    /// These were equal to the bit while every sequence ran alone; a micro-batch of 3 now runs as one block, whose
    /// adapter gradients sum the block's tokens at once, so the adapters agree to fp32 summation order (measured 5e-8
    /// after two lr 1e-2 steps; Adam's first steps, ≈ lr·g/|g|, could amplify it on the smallest gradient entries).
    /// </summary>
    [Fact]
    public void Micro_batches_of_one_train_as_one_batch()
    {
        using var small = new TempDirectory();
        using var whole = new TempDirectory();
        var settings = TrainerRuns.Settings(epochs: 2, batch: 3);
        var initial = TrainerRuns.Adapter(dropout: 0.1);
        TrainerRuns.Train(small.Path, settings, LoraFixtures.Sequences(), initial, microBatch: 1);
        TrainerRuns.Train(whole.Path, settings, LoraFixtures.Sequences(), initial, microBatch: 3);

        var (a, b) = (TrainerRuns.Result(small.Path), TrainerRuns.Result(whole.Path));
        Assert.NotEqual(initial.Matrices[0].A, a.Matrices[0].A);
        var largest = 0.0;
        for (var i = 0; i < a.Matrices.Count; i++)
        {
            largest = Math.Max(largest, a.Matrices[i].A.Zip(b.Matrices[i].A).Max(p => Math.Abs(p.First - p.Second)));
            largest = Math.Max(largest, a.Matrices[i].B.Zip(b.Matrices[i].B).Max(p => Math.Abs(p.First - p.Second)));
        }
        output.WriteLine($"largest adapter difference {largest}");
        Assert.True(largest <= 1e-6, $"largest adapter difference {largest}");
    }

    /// <summary>
    /// 6 steps (3 epochs of 2 steps, the second short), checkpoints every 2, dropout, clipping and a warm-up: a run
    /// stopped after step 3 (its newest checkpoint is step 2), beside a half-written step-3 checkpoint and one
    /// without its marker, resumes to the uninterrupted run's adapter, moments and metrics, bit for bit.
    /// </summary>
    [Fact]
    public void A_resumed_run_ends_bit_identical_to_an_uninterrupted_one()
    {
        using var straight = new TempDirectory();
        using var resumed = new TempDirectory();
        var settings = TrainerRuns.Settings(epochs: 3, batch: 2, clip: 0.5);
        var initial = TrainerRuns.Adapter(dropout: 0.1);
        var sequences = LoraFixtures.Sequences();
        Assert.True(TrainerRuns.Train(straight.Path, settings, sequences, initial, checkpointEvery: 2).Completed);

        var stopped = TrainerRuns.Train(resumed.Path, settings, sequences, initial, checkpointEvery: 2, stopAfter: 3);
        Assert.False(stopped.Completed);
        Assert.False(File.Exists(resumed[LoraAdapter.WeightsFileName]));
        var checkpoints = TrainingCheckpoint.Folder(resumed.Path);
        Directory.CreateDirectory(Path.Combine(checkpoints, "step-00000003.partial"));
        File.WriteAllText(Path.Combine(checkpoints, "step-00000003.partial", "trainer_state.json"), "{ torn");
        Directory.CreateDirectory(Path.Combine(checkpoints, "step-00000004"));
        File.WriteAllText(Path.Combine(checkpoints, "step-00000004", "trainer_state.json"), "{ torn");

        Assert.True(TrainerRuns.Train(resumed.Path, settings, sequences, initial, checkpointEvery: 2, resume: true).Completed);

        Assert.Equal(File.ReadAllBytes(straight[LoraAdapter.WeightsFileName]), File.ReadAllBytes(resumed[LoraAdapter.WeightsFileName]));
        var moments = Path.Combine(TrainingCheckpoint.Folder(straight.Path), "step-00000004", "optimizer.safetensors");
        Assert.Equal(File.ReadAllBytes(moments), File.ReadAllBytes(moments.Replace(straight.Path, resumed.Path)));
        var (a, b) = (MetricsLog.Read(straight[LoraTrainer.MetricsFileName]), MetricsLog.Read(resumed[LoraTrainer.MetricsFileName]));
        Assert.Equal([1, 2, 3, 4, 5, 6], b.Select(m => m.Step));
        Assert.Equal(a.Select(m => (m.Loss, m.GradNorm, m.LearningRate)), b.Select(m => (m.Loss, m.GradNorm, m.LearningRate)));
        Assert.True(a.Any(m => m.GradNorm > 0.5), "clipping should bind on some step");
        Assert.False(Directory.Exists(Path.Combine(checkpoints, "step-00000003.partial")), "the next save clears torn folders");
    }

    [Fact]
    public void Resuming_with_settings_that_change_the_result_is_refused()
    {
        using var folder = new TempDirectory();
        var initial = TrainerRuns.Adapter();
        TrainerRuns.Train(folder.Path, TrainerRuns.Settings(), LoraFixtures.Sequences(), initial, checkpointEvery: 2, stopAfter: 2);

        var changed = TrainerRuns.Settings(learningRate: 2e-2, seed: 12);
        var error = Assert.Throws<DromedaryException>(() =>
            TrainerRuns.Train(folder.Path, changed, LoraFixtures.Sequences(), initial, resume: true));
        Assert.Contains("learning_rate is 0.02 now but was 0.01", error.Message);
        Assert.Contains("seed is 12 now but was 11", error.Message);

        // A different micro-batch only changes memory: accepted.
        Assert.True(TrainerRuns.Train(folder.Path, TrainerRuns.Settings(), LoraFixtures.Sequences(), initial, microBatch: 2, resume: true).Completed);
    }

    [Fact]
    public void A_folder_that_holds_a_run_is_not_overwritten_without_resume()
    {
        using var folder = new TempDirectory();
        TrainerRuns.Train(folder.Path, TrainerRuns.Settings(epochs: 1), LoraFixtures.Sequences(), TrainerRuns.Adapter());
        var before = File.ReadAllBytes(folder[LoraAdapter.WeightsFileName]);
        var error = Assert.Throws<DromedaryException>(() =>
            TrainerRuns.Train(folder.Path, TrainerRuns.Settings(epochs: 1), LoraFixtures.Sequences(), TrainerRuns.Adapter()));
        Assert.Contains("already holds a training run; pass --resume", error.Message);
        Assert.Equal(before, File.ReadAllBytes(folder[LoraAdapter.WeightsFileName]));
    }

    /// <summary>A step whose examples count no token updates nothing, is logged with a NaN loss, and the next step runs.</summary>
    [Fact]
    public void A_step_without_counted_tokens_is_skipped()
    {
        using var folder = new TempDirectory();
        var tokens = LoraFixtures.Sequences()[0].InputIds;
        TrainingSequence[] sequences = [LoraFixtures.Sequence(tokens, prompt: tokens.Length), LoraFixtures.Sequence(tokens, prompt: 3)];
        // Batch 1, one epoch, constant lr: the step of the all-prompt sequence is skipped, the other trains.
        var settings = TrainerRuns.Settings(schedule: "constant", warmup: 0, epochs: 1, batch: 1);
        var initial = TrainerRuns.Adapter();
        TrainerRuns.Train(folder.Path, settings, sequences, initial);

        var steps = MetricsLog.Read(folder[LoraTrainer.MetricsFileName]);
        Assert.Equal(2, steps.Count);
        Assert.Single(steps, s => s.Tokens == 0 && double.IsNaN(s.Loss));
        Assert.Single(steps, s => s.Tokens > 0 && double.IsFinite(s.Loss));
        Assert.NotEqual(initial.Matrices[0].A, TrainerRuns.Result(folder.Path).Matrices[0].A);
    }

    [Fact]
    public void A_diverged_step_stops_the_run_before_it_spoils_the_adapter()
    {
        using var folder = new TempDirectory();
        var initial = TrainerRuns.Adapter();
        initial.Matrices[0].B[0] = float.NaN;
        var error = Assert.Throws<DromedaryException>(() => TrainerRuns.Train(folder.Path, TrainerRuns.Settings(epochs: 1), LoraFixtures.Sequences(), initial));
        Assert.Contains("step 1: the gradient norm is NaN", error.Message);
        Assert.False(File.Exists(folder[LoraAdapter.WeightsFileName]));
    }
}
