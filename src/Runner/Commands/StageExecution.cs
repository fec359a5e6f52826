using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.Runner.Commands;

/// <summary>Runs a stage with the model (progress bar on stderr) or, with --filter-only, without one; prints what it wrote.</summary>
internal static class StageExecution
{
    /// <param name="run">The stage, given its context and the tokenizer (null with --filter-only).</param>
    public static int Run(StageSettings settings, string title, Func<StageContext, TextTokenizer?, StageSummary> run)
    {
        var shard = settings.ParsedShard;
        StageSummary summary;
        if (settings.FilterOnly)
            summary = run(new StageContext(settings.Out, shard, settings.Seed, null, null, null), null);
        else
        {
            using var opened = ModelOpener.Open(settings, settings.Engine);
            var engine = CompletionEngines.Create(opened, settings);
            summary = ProgressDisplay.Run(title, "items", progress =>
                run(new StageContext(settings.Out, shard, settings.Seed, engine, settings.Limit, progress), opened.Tokenizer));
        }
        Print(summary);
        if (!summary.Complete) Console.Out.WriteLine("not finished (stopped by --limit); run the same command again to continue.");
        return 0;
    }

    /// <summary>Where the results went and the count per rule, as stats.json holds them.</summary>
    public static void Print(StageSummary summary)
    {
        Console.Out.WriteLine($"{summary.Folder}: {summary.Kept} kept");
        foreach (var (rule, count) in summary.Stats.Counts) Console.Out.WriteLine($"  {rule}: {count}");
    }
}
