using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>The options of <c>dromedary train</c>: the shared LoRA options plus a starting adapter and the data's format.</summary>
internal sealed class TrainSettings : LoraRunSettings
{
    [CommandOption("--init-adapter <DIR>")]
    [Description("Start from this PEFT adapter (its r, alpha and targets) instead of a fresh one.")]
    public string? InitAdapter { get; init; }

    [CommandOption("--format <FORMAT>")]
    [Description("records (default) or tokens: JSON lines {input_ids, labels}.")]
    [DefaultValue("records")]
    public string Format { get; init; } = "records";

    [CommandOption("--train-on-inputs")]
    [Description("Count the prompt's tokens in the loss too; the method masks them.")]
    public bool TrainOnInputs { get; init; }

    public override ValidationResult Validate() =>
        base.Validate() is { Successful: false } failed ? failed
        : Format is not ("records" or "tokens") ? ValidationResult.Error("--format must be records or tokens.")
        : ValidationResult.Success();
}
