using System.ComponentModel;
using System.Diagnostics;
using Dromedary.Model.Generation;
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

        [CommandOption("--temperature <T>")]
        [Description("0 = greedy (default); higher = more random.")]
        [DefaultValue(0f)]
        public float Temperature { get; init; }

        [CommandOption("--top-p <P>")]
        [Description("Sample from the smallest set of tokens whose mass reaches P.")]
        [DefaultValue(1f)]
        public float TopP { get; init; } = 1f;

        [CommandOption("--top-k <K>")]
        [Description("Sample from the K most likely tokens; 0 = all.")]
        [DefaultValue(0)]
        public int TopK { get; init; }

        [CommandOption("--seed <N>")]
        [Description("Random seed: the same prompt, options and seed give the same text.")]
        [DefaultValue(1UL)]
        public ulong Seed { get; init; } = 1;

        [CommandOption("--stop <TEXT>")]
        [Description("Stop when the text contains this (repeatable); it is not printed.")]
        public string[] Stop { get; init; } = [];

        [CommandOption("--ban <TEXT>")]
        [Description("Never emit the first token of this text (repeatable), e.g. --ban Sorry.")]
        public string[] Ban { get; init; } = [];

        public override ValidationResult Validate() =>
            Prompt is null ? ValidationResult.Error("--prompt <TEXT> is required.")
            : MaxNewTokens < 1 ? ValidationResult.Error("--max-new-tokens must be at least 1.")
            : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var opened = ModelOpener.Open(settings);
        var banned = settings.Ban.Select(text => opened.Tokenizer.Encode(text, addBos: false))
            .Where(ids => ids.Length > 0)
            .ToDictionary(ids => ids[0], _ => -100f);
        var options = new GenerationOptions
        {
            MaxNewTokens = settings.MaxNewTokens,
            StopStrings = settings.Stop,
            Sampling = new SamplingOptions
            {
                Temperature = settings.Temperature, TopP = settings.TopP, TopK = settings.TopK, Seed = settings.Seed, LogitBias = banned,
            },
        };
        var clock = Stopwatch.StartNew();
        var result = TextGeneration.Run(opened.Model, opened.Tokenizer, settings.Prompt!, options, text =>
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
