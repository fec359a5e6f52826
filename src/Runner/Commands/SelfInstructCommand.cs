using System.ComponentModel;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.SelfInstruct;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class SelfInstructCommand : Command<SelfInstructCommand.Settings>
{
    internal sealed class Settings : StageSettings
    {
        [CommandOption("--seed-tasks <FILE>")]
        [Description("Seed tasks, Self-Instruct JSONL (instruction, instances[[0]].input); default: ours.")]
        public string? SeedTasks { get; init; }

        [CommandOption("--meta-prompt <FILE>")]
        [Description("The request for 20 tasks that precedes the demonstrations; default: ours.")]
        public string? MetaPrompt { get; init; }

        [CommandOption("--target <N>")]
        [Description("Instructions this shard keeps before it stops.")]
        [DefaultValue(8192)]
        public int Target { get; init; } = 8192;

        [CommandOption("--max-prompts <N>")]
        [Description("Stop after N prompts in all even if the target is not reached (default: no cap).")]
        public int? MaxPrompts { get; init; }

        [CommandOption("--batch-size <N>")]
        [Description("Prompts per round.")]
        [DefaultValue(64)]
        public int BatchSize { get; init; } = 64;

        [CommandOption("--demonstrations <K>")]
        [Description("Seed tasks shown in each prompt.")]
        [DefaultValue(5)]
        public int Demonstrations { get; init; } = 5;

        [CommandOption("--similarity <F>")]
        [Description("Drop an instruction whose ROUGE-L F against the pool exceeds F.")]
        [DefaultValue(0.7)]
        public double Similarity { get; init; } = 0.7;

        public override ValidationResult Validate() =>
            Target < 1 || BatchSize < 1 || Demonstrations < 1 || MaxPrompts < 1
                ? ValidationResult.Error("--target, --max-prompts, --batch-size and --demonstrations must be at least 1.")
            : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var defaults = new SelfInstructOptions("", []);
        var options = new SelfInstructOptions(StageTemplates.Load(settings.MetaPrompt, EmbeddedPrompts.SelfInstruct), SeedData.SeedTasks(settings.SeedTasks))
        {
            Target = settings.Target,
            MaxPrompts = settings.MaxPrompts,
            BatchSize = settings.BatchSize,
            Demonstrations = settings.Demonstrations,
            SimilarityThreshold = settings.Similarity,
            Temperature = settings.Temperature ?? defaults.Temperature,
            TopP = settings.TopP ?? defaults.TopP,
            MaxNewTokens = settings.MaxNewTokens ?? defaults.MaxNewTokens,
        };
        return StageExecution.Run(settings, "self-instruct", (stage, tokenizer) =>
            SelfInstructStage.Run(options with { EosId = tokenizer?.EosId }, stage));
    }
}
