using Spectre.Console;

namespace Dromedary.Runner;

/// <summary>
/// A progress bar with rate and time left, drawn on stderr so stdout stays clean for JSON; skipped when stderr is
/// not a terminal (logs and pipes get no control codes).
/// </summary>
internal static class ProgressDisplay
{
    private static readonly IAnsiConsole Stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    public static T Run<T>(string title, string unit, Func<IProgress<(int Done, int Total)>, T> work) =>
        RunWithStatus(title, unit, progress => work(new CountOnly(progress, title)));

    /// <summary>As <see cref="Run{T}"/>, and the work rewrites the bar's description with each report (loss, learning rate…).</summary>
    public static T RunWithStatus<T>(string title, string unit, Func<IProgress<(int Done, int Total, string Status)>, T> work)
    {
        if (Console.IsErrorRedirected) return work(new Progress<(int, int, string)>());
        return Stderr.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new CountColumn(), new PercentageColumn(),
                new TransferlessRateColumn(unit), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask(title);
                return work(new SynchronousProgress(task));
            });
    }

    /// <summary>Updates the bar on the calling thread; Progress&lt;T&gt; would post to a thread pool and lag.</summary>
    private sealed class SynchronousProgress(ProgressTask task) : IProgress<(int Done, int Total, string Status)>
    {
        public void Report((int Done, int Total, string Status) value)
        {
            task.MaxValue = value.Total;
            task.Value = value.Done;
            task.Description = value.Status;
        }
    }

    /// <summary>A count-only report, the description staying the title.</summary>
    private sealed class CountOnly(IProgress<(int Done, int Total, string Status)> inner, string title) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => inner.Report((value.Done, value.Total, title));
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
