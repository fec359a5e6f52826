using Spectre.Console;

namespace Dromedary.Runner;

/// <summary>
/// A progress bar with rate and time left, drawn on stderr so stdout stays clean for JSON; skipped when stderr is
/// not a terminal (logs and pipes get no control codes).
/// </summary>
internal static class ProgressDisplay
{
    private static readonly IAnsiConsole Stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    public static T Run<T>(string title, string unit, Func<IProgress<(int Done, int Total)>, T> work)
    {
        if (Console.IsErrorRedirected) return work(new Progress<(int, int)>());
        return Start(title, [new TransferlessRateColumn(unit)], task => work(new SynchronousProgress(task)));
    }

    /// <summary>
    /// A bar whose line also shows a status the work updates (a training step's loss and rate). Without a terminal
    /// each status goes to stderr as a plain line instead, so logs still show how a long run goes.
    /// </summary>
    public static T RunWithStatus<T>(string title, Func<IProgress<(int Done, int Total, string Status)>, T> work)
    {
        if (Console.IsErrorRedirected) return work(new StatusLines(title));
        return Start(title, [], task => work(new SynchronousStatus(task, title)));
    }

    private static T Start<T>(string title, ProgressColumn[] extra, Func<ProgressTask, T> work) =>
        Stderr.Progress()
            .AutoClear(true)
            .Columns([new TaskDescriptionColumn(), new ProgressBarColumn(), new CountColumn(), new PercentageColumn(), .. extra,
                new RemainingTimeColumn(), new SpinnerColumn()])
            .Start(context => work(context.AddTask(title)));

    /// <summary>Updates the bar on the calling thread; Progress&lt;T&gt; would post to a thread pool and lag.</summary>
    private sealed class SynchronousProgress(ProgressTask task) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value)
        {
            task.MaxValue = value.Total;
            task.Value = value.Done;
        }
    }

    private sealed class SynchronousStatus(ProgressTask task, string title) : IProgress<(int Done, int Total, string Status)>
    {
        public void Report((int Done, int Total, string Status) value)
        {
            task.Description = Markup.Escape($"{title} {value.Status}");
            task.MaxValue = value.Total;
            task.Value = value.Done;
        }
    }

    private sealed class StatusLines(string title) : IProgress<(int Done, int Total, string Status)>
    {
        public void Report((int Done, int Total, string Status) value) => Console.Error.WriteLine($"{title} {value.Status}");
    }

    /// <summary>Items done of the total ("12/40").</summary>
    private sealed class CountColumn : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text($"{task.Value:0}/{task.MaxValue:0}", Style.Plain);
    }

    /// <summary>Items per second in the caller's unit (Spectre's own rate column counts bytes).</summary>
    private sealed class TransferlessRateColumn(string unit) : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is { } speed ? $"{speed:0.0} {unit}/s" : "", Style.Plain);
    }
}
