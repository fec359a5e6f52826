using System.ComponentModel;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.Tgrt;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class TgrtQuestionsCommand : Command<TgrtQuestionsCommand.Settings>
{
    internal sealed class Settings : TgrtSettings
    {
        [CommandOption("--topics <FILE>")]
        [Description("Topics, JSONL of {topic, question_type}: tgrt-topics' kept.jsonl.")]
        public string Topics { get; init; } = "";

        [CommandOption("--demonstrations <K>")]
        [Description("Seed questions shown in each prompt.")]
        [DefaultValue(5)]
        public int Demonstrations { get; init; } = 5;

        [CommandOption("--hints <N>")]
        [Description("New (topic, type) hints per prompt.")]
        [DefaultValue(5)]
        public int Hints { get; init; } = 5;

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Topics) ? ValidationResult.Error("--topics <FILE> is required.")
            : Demonstrations < 1 || Hints < 1 ? ValidationResult.Error("--demonstrations and --hints must be at least 1.")
            : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var defaults = new TgrtQuestionsOptions("", [], []);
        var topics = TypedTopic.Read(settings.Topics);
        var options = new TgrtQuestionsOptions(StageTemplates.Load(settings.MetaPrompt, EmbeddedPrompts.TgrtQuestions), SeedData.TgrtSeeds(settings.TgrtSeeds), topics)
        {
            Demonstrations = settings.Demonstrations,
            HintsPerPrompt = settings.Hints,
            Temperature = settings.Temperature ?? defaults.Temperature,
            TopP = settings.TopP ?? defaults.TopP,
            MaxNewTokens = settings.MaxNewTokens ?? defaults.MaxNewTokens,
        };
        return StageExecution.Run(settings, "tgrt-questions", (stage, tokenizer) =>
            TgrtQuestionsStage.Run(options with { EosId = tokenizer?.EosId }, stage));
    }
}
