using System.ComponentModel;
using Dromedary.Model.Quantization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class QuantizeCommand : Command<QuantizeCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandOption("--model <DIR>")]
        [Description("Hugging Face LLaMA folder to quantize (F32, F16 or BF16 weights).")]
        public string Model { get; init; } = "";

        [CommandOption("--out <DIR>")]
        [Description("Folder to write the int8 checkpoint into.")]
        public string Out { get; init; } = "";

        [CommandOption("--group <SIZE>")]
        [Description("Input columns per scale (a multiple of 128); 0 = one scale per output row.")]
        [DefaultValue(0)]
        public int Group { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("--model <DIR> is required.")
            : string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        ProgressDisplay.Run("quantizing", "tensors", progress =>
        {
            CheckpointQuantizer.Run(settings.Model, settings.Out, settings.Group, progress);
            return 0;
        });
        AnsiConsole.MarkupLineInterpolated($"wrote the int8 checkpoint to [bold]{settings.Out}[/]");
        return 0;
    }
}
