using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>Options shared by every command that runs a model.</summary>
internal class ModelSettings : RuntimeSettings
{
    [CommandOption("--model <DIR>")]
    [Description("Hugging Face LLaMA folder: config.json, *.safetensors, tokenizer.model.")]
    public string Model { get; init; } = "";

    [CommandOption("--group <SIZE>")]
    [Description("When quantizing at load: input columns per scale (a multiple of 128); 0 = one scale per row.")]
    [DefaultValue(0)]
    public int Group { get; init; }

    [CommandOption("--adapter <DIR>")]
    [Description("PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors), merged into the weights at load.")]
    public string? Adapter { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("--model <DIR> is required.") : ValidationResult.Success();
}
