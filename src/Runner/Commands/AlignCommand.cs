using System.ComponentModel;
using Dromedary.SelfAlign.Align;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>`dromedary align`: stages 1a → 4 into one run folder, each skipped when complete and resumed when partial, then the report.</summary>
internal sealed class AlignCommand : Command<AlignCommand.Settings>
{
    internal sealed class Settings : CommandSettings
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

        [CommandOption("--precision <PRECISION>")]
        [Description("int8 (default: int8 weights, fp32 scales) or fp32 (exact), for generation and the frozen base in training.")]
        [DefaultValue("int8")]
        public string Precision { get; init; } = "int8";

        [CommandOption("--kernels <NAME>")]
        [Description("Kernel set to run on (see 'dromedary info'); default: the best for this machine.")]
        public string? Kernels { get; init; }

        [CommandOption("--threads <N>")]
        [Description("Worker threads; default: all cores.")]
        public int? Threads { get; init; }

        [CommandOption("--max-sequences <N>")]
        [Description("Batched engine: sequences decoded together.")]
        [DefaultValue(16)]
        public int MaxSequences { get; init; } = 16;

        [CommandOption("--kv-blocks <N>")]
        [Description("Batched engine: KV cache blocks of 16 positions; 0 = a full context per sequence.")]
        [DefaultValue(0)]
        public int KvBlocks { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Base) ? ValidationResult.Error("--base <DIR> is required.")
            : string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.")
            : Precision.ToLowerInvariant() is not ("int8" or "fp32") ? ValidationResult.Error("--precision must be int8 or fp32.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var request = new AlignRequest(settings.Base, settings.Out, AlignConfig.Load(settings.Config), settings.Seed, settings.Precision.ToLowerInvariant());
        return AlignExecution.Run(request, adapter => new ModelSettings
        {
            Model = settings.Base, Adapter = adapter, Precision = request.Precision, Kernels = settings.Kernels, Threads = settings.Threads,
            MaxSequences = settings.MaxSequences, KvBlocks = settings.KvBlocks,
        }, cancellation);
    }
}
