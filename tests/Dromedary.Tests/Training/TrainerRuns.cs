using Dromedary.Kernels.Cpu;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Tests.Lora;
using Dromedary.Tests.Model;
using Dromedary.Training.Lora;
using Dromedary.Training.Trainer;

namespace Dromedary.Tests.Training;

/// <summary>Runs the trainer on the tiny fixture model (fp32, one thread) for the trainer tests.</summary>
internal static class TrainerRuns
{
    public static TrainingSettings Settings(double learningRate = 1e-2, string schedule = "cosine", int warmup = 1, int epochs = 3,
        int batch = 2, double clip = 1.0, int seed = 11) =>
        new(learningRate, warmup, schedule, epochs, batch, clip, seed, new Dictionary<string, string> { ["data"] = "lora-fixture-sequences" });

    /// <summary>
    /// Trains <paramref name="initial"/> (a copy: the caller's stays untouched) into <paramref name="folder"/>;
    /// <paramref name="stopAfter"/> cancels once that many steps are done, as a kill after that step would.
    /// </summary>
    public static TrainingOutcome Train(string folder, TrainingSettings settings, TrainingSequence[] sequences, LoraAdapter initial,
        int microBatch = 1, int checkpointEvery = 0, bool resume = false, int? stopAfter = null)
    {
        using var loaded = ForwardTests.Load("f32", Precision.Fp32, threads: 1);
        using var stop = new CancellationTokenSource();
        var progress = new StopAfter(stopAfter, stop);
        return new LoraTrainer(folder, settings, loaded.Model.Config, resume).Run(sequences, Copy(initial, loaded.Model),
            adapter => LoraTrainingEngines.Create(loaded.Model, adapter, 32, microBatch, (ulong)settings.Seed, new AdamWOptions()),
            new TrainingPace(microBatch, checkpointEvery), progress, stop.Token);
    }

    private static LoraAdapter Copy(LoraAdapter adapter, LlamaModel model)
    {
        var copy = LoraAdapter.Create(adapter.Config, model.Config, 0);
        copy.CopyWeightsFrom(adapter);
        return copy;
    }

    public static LoraAdapter Adapter(double dropout = 0) =>
        LoraFixtures.RandomAdapter(Fixtures.TinyModelConfig, LoraFixtures.Config(dropout));

    /// <summary>The adapter a run wrote to <paramref name="folder"/>.</summary>
    public static LoraAdapter Result(string folder) => LoraAdapter.Load(folder, Fixtures.TinyModelConfig);

    private sealed class StopAfter(int? steps, CancellationTokenSource stop) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Metrics.Step == steps) stop.Cancel();
        }
    }
}
