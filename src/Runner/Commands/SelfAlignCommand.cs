using System.ComponentModel;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Principles;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class SelfAlignCommand : Command<SelfAlignCommand.Settings>
{
    internal sealed class Settings : StageSettings
    {
        [CommandOption("--instructions <FILE>")]
        [Description("Instructions to answer: JSON array or JSONL of {instruction, input} (stage 1's kept.jsonl).")]
        public string Instructions { get; init; } = "";

        [CommandOption("--principles <FILE>")]
        [Description("Header and rules (or the original's whole prompt file, rules and examples); default: ours.")]
        public string? Principles { get; init; }

        [CommandOption("--exemplars <FILE>")]
        [Description("The \"## Examples\" section with the exemplar conversations; default: ours.")]
        public string? Exemplars { get; init; }

        [CommandOption("--identity <FILE>")]
        [Description("Identity Q&A added to the result, FastChat JSON ({conversations}); default: ours.")]
        public string? Identity { get; init; }

        [CommandOption("--name <NAME>")]
        [Description("Replaces the prompt's assistant codename in kept answers.")]
        [DefaultValue("Dromedary")]
        public string Name { get; init; } = "Dromedary";

        [CommandOption("--leak-marker <TEXT>")]
        [Description("Drop answers containing TEXT (repeatable), besides the markers taken from the exemplars.")]
        public string[] LeakMarkers { get; init; } = [];

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Instructions) ? ValidationResult.Error("--instructions <FILE> is required.") : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var prompt = SeedData.Prompt(settings.Principles, settings.Exemplars);
        var shard = settings.ParsedShard;
        var identity = shard.IsWhole ? SeedData.Identity(settings.Identity) : [];
        var defaults = new SelfAlignOptions(prompt, [], []);
        var options = new SelfAlignOptions(prompt, Query.Read(settings.Instructions), identity)
        {
            Name = settings.Name,
            ExtraLeakMarkers = [.. SeedData.LeakMarkers(settings.Principles), .. settings.LeakMarkers],
            Temperature = settings.Temperature ?? defaults.Temperature,
            TopP = settings.TopP ?? defaults.TopP,
            MaxNewTokens = settings.MaxNewTokens ?? defaults.MaxNewTokens,
        };
        return StageExecution.Run(settings, "self-align", (stage, tokenizer) =>
            SelfAlignStage.Run(options with { SorryId = tokenizer is null ? null : SelfAlignOptions.SorryToken(tokenizer) }, stage));
    }
}
