using System.ComponentModel;
using Dromedary.SelfAlign.Align;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>`dromedary demo`: align on the toy model shipped with the build, at the embedded small scale, in a few minutes.</summary>
internal sealed class DemoCommand : Command<DemoCommand.Settings>
{
    /// <summary>models/toy next to dromedary.dll (the build copies the repository's models/toy there).</summary>
    public static string ToyModel => Path.Combine(AppContext.BaseDirectory, "models", "toy");

    internal sealed class Settings : CommandSettings
    {
        [CommandOption("--out <DIR>")]
        [Description("Run folder; rerun to resume or to rewrite the report.")]
        [DefaultValue("demo-run")]
        public string Out { get; init; } = "demo-run";

        [CommandOption("--threads <N>")]
        [Description("Worker threads; default: all cores.")]
        public int? Threads { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (!File.Exists(Path.Combine(ToyModel, "config.json"))) throw new DromedaryException($"{ToyModel}: the toy model is missing from this build.");
        Console.Error.WriteLine("demo: the whole SELF-ALIGN method, at a small scale, on a toy model that knows nothing; it shows the pipeline end to end.");
        var request = new AlignRequest(ToyModel, settings.Out, AlignConfig.Demo(), Precision: "fp32");
        return AlignExecution.Run(request, adapter => new ModelSettings
        {
            Model = ToyModel, Adapter = adapter, Precision = request.Precision, Threads = settings.Threads,
        }, cancellation);
    }
}
