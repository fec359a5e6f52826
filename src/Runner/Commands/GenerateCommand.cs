using System.ComponentModel;
using System.Diagnostics;
using Dromedary.Model.Inference;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class GenerateCommand : Command<GenerateCommand.Settings>
{
    internal sealed class Settings : ModelSettings
    {
        [CommandOption("--prompt <TEXT>")]
        [Description("Text to continue; BOS is prepended.")]
        public string? Prompt { get; init; }

        [CommandOption("--max-new-tokens <N>")]
        [Description("Most tokens to generate.")]
        [DefaultValue(64)]
        public int MaxNewTokens { get; init; } = 64;

        public override ValidationResult Validate() =>
            Prompt is null ? ValidationResult.Error("--prompt <TEXT> is required.")
            : MaxNewTokens < 1 ? ValidationResult.Error("--max-new-tokens must be at least 1.")
            : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var opened = ModelOpener.Open(settings);
        var clock = Stopwatch.StartNew();
        var result = GreedyGeneration.Run(opened.Model, opened.Tokenizer, settings.Prompt!, settings.MaxNewTokens, text =>
        {
            Console.Out.Write(text);
            Console.Out.Flush();
        });
        Console.Out.WriteLine();
        Console.Error.WriteLine(
            $"[{result.Tokens.Length} tokens after a {result.PromptTokens}-token prompt in {clock.Elapsed.TotalSeconds:F2} s; stopped: {result.Finish}]");
        return 0;
    }
}
