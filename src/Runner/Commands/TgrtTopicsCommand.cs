using System.ComponentModel;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.Tgrt;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class TgrtTopicsCommand : Command<TgrtTopicsCommand.Settings>
{
    internal sealed class Settings : TgrtSettings
    {
        [CommandOption("--epochs <N>")]
        [Description("Brainstorming rounds (6 = the original's epoch-5 pool).")]
        [DefaultValue(6)]
        public int Epochs { get; init; } = 6;

        public override ValidationResult Validate() =>
            Epochs < 1 ? ValidationResult.Error("--epochs must be at least 1.") : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var defaults = new TgrtTopicsOptions("", []);
        var options = new TgrtTopicsOptions(StageTemplates.Load(settings.MetaPrompt, EmbeddedPrompts.TgrtTopics), SeedData.TgrtSeeds(settings.TgrtSeeds))
        {
            Epochs = settings.Epochs,
            Temperature = settings.Temperature ?? defaults.Temperature,
            TopP = settings.TopP ?? defaults.TopP,
            MaxNewTokens = settings.MaxNewTokens ?? defaults.MaxNewTokens,
        };
        return StageExecution.Run(settings, "tgrt-topics", (stage, tokenizer) =>
            TgrtTopicsStage.Run(options with { EosId = tokenizer?.EosId }, stage));
    }
}
