using System.ComponentModel;
using Dromedary.Kernels;
using Dromedary.Model.Lora;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class MergeCommand : Command<MergeCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandOption("--base <DIR>")]
        [Description("Hugging Face LLaMA folder the adapter was trained on (F16, BF16 or F32 weights, not int8).")]
        public string Base { get; init; } = "";

        [CommandOption("--adapter <DIR>")]
        [Description("PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors).")]
        public string Adapter { get; init; } = "";

        [CommandOption("--out <DIR>")]
        [Description("Folder to write the merged checkpoint into.")]
        public string Out { get; init; } = "";

        [CommandOption("--dtype <TYPE>")]
        [Description("f16, bf16 or f32; default: the base's own.")]
        public string? Dtype { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Base) ? ValidationResult.Error("--base <DIR> is required.")
            : string.IsNullOrWhiteSpace(Adapter) ? ValidationResult.Error("--adapter <DIR> is required.")
            : string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.")
            : Dtype is null or "f16" or "bf16" or "f32" ? ValidationResult.Success()
            : ValidationResult.Error("--dtype must be f16, bf16 or f32.");
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        ScalarType? dtype = settings.Dtype switch { "f16" => ScalarType.F16, "bf16" => ScalarType.BF16, "f32" => ScalarType.F32, _ => null };
        ProgressDisplay.Run("merging", "tensors", progress =>
        {
            LoraMerger.Run(settings.Base, settings.Adapter, settings.Out, dtype, progress);
            return 0;
        });
        AnsiConsole.MarkupLineInterpolated($"wrote the merged checkpoint to [bold]{settings.Out}[/]");
        return 0;
    }
}
