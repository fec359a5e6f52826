using Dromedary.SelfAlign.FineTuning;
using Spectre.Console;

namespace Dromedary.Runner.Commands;

/// <summary>Runs a prepared LoRA run on the loaded base with a progress bar and says how it ended; 0 when it completed.</summary>
internal static class FineTuneExecution
{
    public static int Run(FineTune run, FineTuneOptions options, ModelSettings model, CancellationToken cancellation)
    {
        if (run.FirstStep > 0) Console.Error.WriteLine($"resuming {options.Out} after step {run.FirstStep}");
        using var opened = ModelOpener.OpenForTraining(model, run);
        var outcome = ProgressDisplay.RunWithStatus("training", progress => run.Run(opened.Model, new TrainingStatus(progress), cancellation));
        if (!outcome.Completed)
        {
            AnsiConsole.MarkupLineInterpolated($"stopped after step {outcome.Steps}; [bold]--resume[/] continues from the newest checkpoint");
            return 1;
        }
        AnsiConsole.MarkupLineInterpolated($"trained {outcome.Steps} steps; wrote the adapter, metrics.jsonl and loss.svg to [bold]{outcome.AdapterFolder}[/]");
        return 0;
    }
}
