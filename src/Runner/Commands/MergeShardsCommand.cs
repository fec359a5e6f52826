using System.ComponentModel;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Runs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class MergeShardsCommand : Command<MergeShardsCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandOption("--out <DIR>")]
        [Description("The run directory holding shard-i-of-N folders; the merged kept.jsonl and stats.json go here.")]
        public string Out { get; init; } = "";

        [CommandOption("--identity <FILE>")]
        [Description("self-align only: identity Q&A added to the result; default: ours.")]
        public string? Identity { get; init; }

        [CommandOption("--name <NAME>")]
        [Description("self-align only: the assistant's name in identity answers.")]
        [DefaultValue("Dromedary")]
        public string Name { get; init; } = "Dromedary";

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var summary = ShardMerge.Run(settings.Out, () => SeedData.Identity(settings.Identity), settings.Name);
        StageExecution.Print(summary);
        return 0;
    }
}
