using System.Globalization;
using Dromedary.Training.Trainer;

namespace Dromedary.Runner;

/// <summary>A training step's line for a status bar: step, loss, learning rate and counted tokens per second; the bar adds the time left.</summary>
internal sealed class TrainingStatus(IProgress<(int Done, int Total, string Status)> display) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        var m = value.Metrics;
        var status = value.Skipped
            ? $"step {m.Step}/{value.TotalSteps} skipped: no counted tokens"
            : string.Create(CultureInfo.InvariantCulture, $"step {m.Step}/{value.TotalSteps} loss {m.Loss:F4} lr {m.LearningRate:0.###e+0} {m.TokensPerSecond:F0} tok/s");
        display.Report((m.Step, value.TotalSteps, status));
    }
}
