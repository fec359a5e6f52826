using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Dromedary.Runner.Commands;
using Dromedary.SelfAlign.Evaluation;
using Spectre.Console;

namespace Dromedary.Runner;

/// <summary>What the benchmark commands share: open the model, score the planned items with a progress bar, print the summary.</summary>
internal static class EvalSession
{
    public static int Run(string benchmark, EvalSettings settings, Dictionary<string, string?> recorded,
        Func<TextTokenizer, string, IReadOnlyList<ItemPlan>> plan, CancellationToken cancel)
    {
        var meta = EvalPrompts.Meta(settings.System);
        using var opened = ModelOpener.Open(settings, settings.Engine);
        var plans = plan(opened.Tokenizer, meta);
        var scorer = new LikelihoodScorer(opened.Tokenizer, CompletionEngines.CreateScorer(opened, settings));
        var report = ProgressDisplay.Run($"{benchmark} {recorded["protocol"]}", "items",
            progress => Evaluator.Run(benchmark, recorded, plans, scorer, settings.Out, progress, cancel));
        var table = new Table().AddColumns("protocol", "group", "metric", "value", "items");
        foreach (var row in report.Summary)
            table.AddRow(row.Protocol, row.Group, row.Metric, $"{row.Value:F4}", $"{row.Count}");
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"wrote {settings.Out}");
        return 0;
    }
}
