using System.ComponentModel;
using Dromedary.SelfAlign.Evaluation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class EvalCompareCommand : Command<EvalCompareCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<A>")]
        [Description("A result file of `dromedary eval`.")]
        public string A { get; init; } = "";

        [CommandArgument(1, "<B>")]
        [Description("Another result file, shown beside A.")]
        public string B { get; init; } = "";
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var comparison = EvalComparison.Of(EvalReportFile.Read(settings.A), EvalReportFile.Read(settings.B));
        AnsiConsole.WriteLine($"A = {settings.A}");
        AnsiConsole.WriteLine($"B = {settings.B}");
        var table = new Table().AddColumns("protocol", "group", "metric", "A", "B", "B - A", "items A / B");
        foreach (var row in comparison.Rows)
        {
            var delta = row.A is { } a && row.B is { } b ? $"{b - a:+0.0000;-0.0000;0.0000}" : "";
            table.AddRow(row.Protocol, row.Group, row.Metric, Value(row.A), Value(row.B), delta, $"{row.CountA?.ToString() ?? "-"} / {row.CountB?.ToString() ?? "-"}");
        }
        AnsiConsole.Write(table);
        foreach (var change in comparison.Changes)
            AnsiConsole.WriteLine($"{change.Protocol}: predictions differ on {change.Changed} of {change.Shared} shared items");
        return 0;
    }

    private static string Value(double? value) => value is { } v ? $"{v:F4}" : "-";
}
