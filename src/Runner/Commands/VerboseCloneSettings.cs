using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>The options of <c>dromedary verbose-clone</c>: the stage-3 adapter, the questions, and the LoRA options of the final run.</summary>
internal sealed class VerboseCloneSettings : LoraRunSettings
{
    [CommandOption("--adapter <DIR>")]
    [Description("The stage-3 adapter (engrave's --out), merged into --base to write the verbose answers.")]
    public string? Adapter { get; init; }

    [CommandOption("--verbose-prompt <FILE>")]
    [Description("Meta prompt the answers are generated under; default: our embedded extensive prompt.")]
    public string? VerbosePrompt { get; init; }

    [CommandOption("--limit <N>")]
    [Description("Answer only the first N questions of --data.")]
    public int? Limit { get; init; }

    [CommandOption("--max-new-tokens <N>")]
    [Description("Longest answer in tokens.")]
    [DefaultValue(512)]
    public int MaxNewTokens { get; init; } = 512;

    [CommandOption("--filter-only")]
    [Description("Re-run the filters from --out's raw.jsonl into kept.jsonl and stats.json; no model, no training.")]
    public bool FilterOnly { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.")
        : FilterOnly ? ValidationResult.Success()
        : base.Validate() is { Successful: false } failed ? failed
        : string.IsNullOrWhiteSpace(Adapter) ? ValidationResult.Error("--adapter <DIR> (the stage-3 adapter) is required.")
        : Limit is < 1 ? ValidationResult.Error("--limit must be at least 1.")
        : MaxNewTokens < 1 ? ValidationResult.Error("--max-new-tokens must be at least 1.")
        : ValidationResult.Success();
}
