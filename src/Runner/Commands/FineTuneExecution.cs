using System.Globalization;
using Dromedary.SelfAlign.FineTuning;
using Dromedary.Training.Trainer;
using Spectre.Console;

namespace Dromedary.Runner.Commands;

/// <summary>Runs a prepared LoRA run on the loaded base with a progress bar and says how it ended; 0 when it completed.</summary>
internal static class FineTuneExecution
{
    public static int Run(FineTune run, FineTuneOptions options, ModelSettings model, CancellationToken cancellation)
    {
        if (run.FirstStep > 0) Console.Error.WriteLine($"resuming {options.Out} after step {run.FirstStep}");
        using var opened = ModelOpener.Open(model);
        var outcome = ProgressDisplay.RunWithStatus("training", progress => run.Run(opened.Model, new StepStatus(progress), cancellation));
        if (!outcome.Completed)
        {
            AnsiConsole.MarkupLineInterpolated($"stopped after step {outcome.Steps}; [bold]--resume[/] continues from the newest checkpoint");
            return 1;
        }
        AnsiConsole.MarkupLineInterpolated($"trained {outcome.Steps} steps; wrote the adapter, metrics.jsonl and loss.svg to [bold]{outcome.AdapterFolder}[/]");
        return 0;
    }

    /// <summary>A step's line: step, loss, learning rate and counted tokens per second; the bar adds the time left.</summary>
    private sealed class StepStatus(IProgress<(int Done, int Total, string Status)> display) : IProgress<TrainingProgress>
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
}
