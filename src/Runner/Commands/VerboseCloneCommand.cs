using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.FineTuning;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.VerboseCloning;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>
/// `dromedary verbose-clone`: stage 4. The stage-3 model answers the questions verbosely into raw.jsonl
/// (resumable), the filters write kept.jsonl and stats.json, and a fresh LoRA on the base learns the kept answers.
/// </summary>
internal sealed class VerboseCloneCommand : Command<VerboseCloneSettings>
{
    public override int Execute(CommandContext context, VerboseCloneSettings settings, CancellationToken cancellation)
    {
        var raw = Path.Combine(settings.Out, VerboseCloneRun.RawFile);
        var kept = Path.Combine(settings.Out, VerboseCloneRun.KeptFile);
        if (!settings.FilterOnly) Generate(settings, raw, cancellation);
        if (cancellation.IsCancellationRequested) return 1;

        var counts = VerboseCloneRun.Filter(raw, kept, Path.Combine(settings.Out, VerboseCloneRun.StatsFile));
        AnsiConsole.MarkupLineInterpolated($"kept {counts["kept"]} of {counts["answers"]} answers: {string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}"))}");
        if (settings.FilterOnly) return 0;
        if (counts["kept"] == 0) throw new DromedaryException($"no answer in {raw} passed the filters (see stats.json); nothing to train on.");

        var options = settings.ToOptions(kept, Path.Combine(settings.Out, VerboseCloneRun.AdapterFolder), VerboseCloneRun.Template(), VerboseCloneRun.Cutoff);
        return FineTuneExecution.Run(FineTune.Prepare(options), options, settings.BaseModel(), cancellation);
    }

    private static void Generate(VerboseCloneSettings settings, string raw, CancellationToken cancellation)
    {
        var meta = settings.VerbosePrompt is { } file ? EmbeddedPrompts.ReadFile(file) : VerbosePrompt.DefaultMeta();
        var prompts = VerboseGeneration.Prompts(Query.Read(settings.Data), meta, settings.Limit);
        var (pending, scan) = VerboseGeneration.Pending(prompts, raw, settings.Resume);
        if (scan.Repair is { } repair) Console.Error.WriteLine(repair);
        if (pending.Count == 0) return;
        if (scan.Done.Count > 0) Console.Error.WriteLine($"resuming {raw}: {scan.Done.Count} answers done, {pending.Count} to go");
        var model = settings.BaseModel(settings.Adapter);
        using var opened = ModelOpener.Open(model, model.Engine);
        var engine = CompletionEngines.Create(opened, model);
        var options = VerbosePrompt.Generation((ulong)settings.Seed, settings.MaxNewTokens);
        ProgressDisplay.Run("verbose answers", "answers", progress =>
        {
            VerboseGeneration.Run(pending, raw, engine, options, progress, cancellation);
            return 0;
        });
    }
}
