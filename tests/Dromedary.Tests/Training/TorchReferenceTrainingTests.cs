using System.Text.Json;
using Dromedary.Model.Lora;
using Dromedary.Training.Lora;
using Dromedary.Training.Metrics;
using Dromedary.Training.Trainer;
using Xunit;

namespace Dromedary.Tests.Training;

/// <summary>
/// Three optimizer steps of our trainer against torch (tests/fixtures/lora/make_lora_training_fixture.py):
/// LoRA r 4, alpha 8 on q, k, v, o of the tiny model, two masked sequences in one batch, clipping that binds on
/// two of the steps, a cosine learning rate and torch.optim.AdamW, in float64 autograd there.
/// </summary>
public sealed class TorchReferenceTrainingTests(ITestOutputHelper output)
{
    private sealed record Step(double Loss, double GradNorm, double Lr);

    private sealed record Sequence(int[] InputIds, int[] Labels);

    private sealed record Reference(int Rank, double Alpha, string[] Targets, double Lr, string Schedule, int Warmup, double Clip,
        Step[] Steps, Sequence[] Sequences, Dictionary<string, float[]> Initial, Dictionary<string, double[]> Final);

    [Fact]
    public void Three_steps_reproduce_torchs_adapter()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "lora", "lora_training.json");
        var reference = JsonSerializer.Deserialize<Reference>(File.ReadAllText(path),
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!;
        var config = new LoraConfig
        {
            Rank = reference.Rank, Alpha = reference.Alpha, Dropout = 0,
            Targets = reference.Targets.Select(name => LoraTargets.TryParse(name, out var t) ? t : throw new FormatException(name)).ToArray(),
        };
        var initial = LoraAdapter.Create(config, Fixtures.TinyModelConfig, 0);
        foreach (var m in initial.Matrices)
        {
            reference.Initial[m.TensorName('A')].CopyTo(m.A, 0);
            reference.Initial[m.TensorName('B')].CopyTo(m.B, 0);
        }
        var sequences = reference.Sequences.Select(s => new TrainingSequence(s.InputIds, s.Labels)).ToArray();
        var steps = reference.Steps.Length;
        // One batch of both sequences per epoch: an epoch is a step.
        var settings = TrainerRuns.Settings(reference.Lr, reference.Schedule, reference.Warmup, epochs: steps, batch: 2, clip: reference.Clip);
        using var folder = new TempDirectory();
        TrainerRuns.Train(folder.Path, settings, sequences, initial);

        var metrics = MetricsLog.Read(folder[LoraTrainer.MetricsFileName]);
        for (var i = 0; i < steps; i++)
        {
            output.WriteLine($"step {i + 1}: loss {metrics[i].Loss} / {reference.Steps[i].Loss}, norm {metrics[i].GradNorm} / {reference.Steps[i].GradNorm}");
            Assert.Equal(reference.Steps[i].Lr, metrics[i].LearningRate, 1e-12);
            Assert.Equal(reference.Steps[i].Loss, metrics[i].Loss, 1e-5);
            Assert.Equal(reference.Steps[i].GradNorm, metrics[i].GradNorm, 1e-5);
        }
        var trained = TrainerRuns.Result(folder.Path);
        var worst = 0.0;
        foreach (var m in trained.Matrices)
        {
            foreach (var (values, name) in new[] { (m.A, m.TensorName('A')), (m.B, m.TensorName('B')) })
            {
                var expected = reference.Final[name];
                for (var i = 0; i < values.Length; i++) worst = Math.Max(worst, Math.Abs(values[i] - expected[i]));
                Assert.NotEqual(reference.Initial[name], values);
            }
        }
        output.WriteLine($"largest difference from torch's A and B: {worst:E2}");
        Assert.True(worst < 1e-4, $"an adapter value differs from torch's by {worst}");
    }
}
