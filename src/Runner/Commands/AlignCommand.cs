using System.ComponentModel;
using Dromedary.SelfAlign.Align;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>`dromedary align`: stages 1a → 4 into one run folder, each skipped when complete and resumed when partial, then the report.</summary>
internal sealed class AlignCommand : Command<AlignCommand.Settings>
{
    internal sealed class Settings : RuntimeSettings
    {
        [CommandOption("--base <DIR>")]
        [Description("Hugging Face LLaMA folder to align: config.json, *.safetensors, tokenizer.model.")]
        public string Base { get; init; } = "";

        [CommandOption("--out <DIR>")]
        [Description("Run folder: run.json, one folder per stage, final/ (the adapter), report.md and report.html. Rerun to resume.")]
        public string Out { get; init; } = "";

        [CommandOption("--config <FILE>")]
        [Description("JSON of per-stage overrides, e.g. {\"self_align\": {\"max_queries\": 500}}; run.json lists every key.")]
        public string? Config { get; init; }

        [CommandOption("--seed <N>")]
        [Description("Base random seed of every stage (the original's 42).")]
        [DefaultValue(42)]
        public int Seed { get; init; } = 42;

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Base) ? ValidationResult.Error("--base <DIR> is required.")
            : string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var precision = settings.ParsedPrecision.ToString().ToLowerInvariant();
        var request = new AlignRequest(settings.Base, settings.Out, AlignConfig.Load(settings.Config), settings.Seed, precision);
        return AlignExecution.Run(request, adapter => new ModelSettings
        {
            Model = settings.Base, Adapter = adapter, Precision = request.Precision, Kernels = settings.Kernels, Threads = settings.Threads,
            MaxSequences = settings.MaxSequences, KvBlocks = settings.KvBlocks,
        }, cancellation);
    }
}
