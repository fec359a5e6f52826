using System.ComponentModel;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>Options of both TGRT commands: the seed questions and the stage's template.</summary>
internal class TgrtSettings : StageSettings
{
    [CommandOption("--tgrt-seeds <FILE>")]
    [Description("TGRT seeds, JSONL of {topic, question_type, question}, one per question type; default: ours.")]
    public string? TgrtSeeds { get; init; }

    [CommandOption("--meta-prompt <FILE>")]
    [Description("The stage's template: one {} for the question type (topics), two for the hints and examples (questions). Default: ours.")]
    public string? MetaPrompt { get; init; }
}
