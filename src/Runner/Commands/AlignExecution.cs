using Dromedary.SelfAlign.Align;

namespace Dromedary.Runner.Commands;

/// <summary>Runs align with the command line's models and display; Ctrl+C stops it cleanly (finished work stays; rerun to resume).</summary>
internal static class AlignExecution
{
    public static int Run(AlignRequest request, Func<string?, ModelSettings> model, CancellationToken cancellation)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        // The first Ctrl+C stops cleanly; a second one is left to end the process.
        ConsoleCancelEventHandler onCtrlC = (_, e) =>
        {
            if (stop.IsCancellationRequested) return;
            e.Cancel = true;
            Console.Error.WriteLine("stopping after the current step (Ctrl+C again to kill)...");
            stop.Cancel();
        };
        Console.CancelKeyPress += onCtrlC;
        try
        {
            var outcome = new AlignPipeline(request, new AlignModels(model), new AlignDisplay()).Run(stop.Token);
            if (!outcome.Completed) return 1;
            // Plain lines: a terminal-wide wrap would break the command for copying.
            Console.Out.WriteLine($"report: {outcome.Report} (and report.html beside it)");
            Console.Out.WriteLine($"chat with the result: dromedary chat --model {request.Base} --adapter {request.Final}");
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
    }
}
