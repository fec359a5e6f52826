using System.ComponentModel;
using System.Diagnostics;
using Dromedary.Model.Generation;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Jobs;
using Dromedary.SelfAlign.Runs;
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

        [CommandOption("--prompts <FILE>")]
        [Description("JSON Lines of {\"id\": …, \"prompt\": …, …}: complete each into --out (instead of --prompt).")]
        public string? Prompts { get; init; }

        [CommandOption("--out <FILE>")]
        [Description("With --prompts: JSON Lines output, each input record plus \"completion\", \"finish_reason\", \"completion_tokens\"; ids already there are skipped, so a rerun resumes.")]
        public string? Out { get; init; }

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
        [Description("Random seed: the same prompt, options and seed give the same text (with --prompts, per id).")]
        [DefaultValue(1UL)]
        public ulong Seed { get; init; } = 1;

        [CommandOption("--stop <TEXT>")]
        [Description("Stop when the text contains this (repeatable); it is not printed.")]
        public string[] Stop { get; init; } = [];

        [CommandOption("--ban <TEXT>")]
        [Description("Never emit the first token of this text (repeatable), e.g. --ban Sorry.")]
        public string[] Ban { get; init; } = [];

        public override ValidationResult Validate() =>
            (Prompt is null) == (Prompts is null) ? ValidationResult.Error("give either --prompt <TEXT> or --prompts <FILE>.")
            : (Prompts is null) != (Out is null) ? ValidationResult.Error("--out <FILE> goes with --prompts <FILE>, and only with it.")
            : Prompts is not null && Path.GetFullPath(Prompts) == Path.GetFullPath(Out!) ? ValidationResult.Error("--out must be another file than --prompts.")
            : MaxNewTokens < 1 ? ValidationResult.Error("--max-new-tokens must be at least 1.")
            : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation) =>
        settings.Prompts is null ? ContinueOne(settings) : CompleteFile(settings, cancellation);

    private static int ContinueOne(Settings settings)
    {
        using var opened = ModelOpener.Open(settings);
        var clock = Stopwatch.StartNew();
        var result = TextGeneration.Run(opened.Model, opened.Tokenizer, settings.Prompt!, Options(settings, opened.Tokenizer), text =>
        {
            Console.Out.Write(text);
            Console.Out.Flush();
        });
        Console.Out.WriteLine();
        Console.Error.WriteLine(
            $"[{result.Tokens.Length} tokens after a {result.PromptTokens}-token prompt in {clock.Elapsed.TotalSeconds:F2} s; stopped: {result.Finish}]");
        return 0;
    }

    private static int CompleteFile(Settings settings, CancellationToken cancellation)
    {
        var prompts = PromptFile.Read(settings.Prompts!);
        using var output = JsonlLog.Open(settings.Out!, PromptFile.IdField);
        if (output.Repair is { } repair) Console.Error.WriteLine(repair);
        var pending = CompletionJob.Pending(prompts, output.Keys);
        Console.Error.WriteLine($"{prompts.Count} prompts: {prompts.Count - pending.Count} already in {settings.Out}, {pending.Count} to generate.");
        if (pending.Count == 0) return 0;

        using var opened = ModelOpener.Open(settings, settings.Engine);
        var engine = CompletionEngines.Create(opened, settings);
        var options = Options(settings, opened.Tokenizer);
        var clock = Stopwatch.StartNew();
        ProgressDisplay.Run("generating", "prompts", progress =>
        {
            CompletionJob.Run(pending, output, engine, options, progress, cancellation);
            return pending.Count;
        });
        Console.Error.WriteLine($"[{pending.Count} completions written to {settings.Out} in {clock.Elapsed.TotalSeconds:F1} s]");
        return 0;
    }

    private static GenerationOptions Options(Settings settings, TextTokenizer tokenizer)
    {
        var banned = new Dictionary<int, float>();
        foreach (var text in settings.Ban)
            if (tokenizer.Encode(text, addBos: false) is [var first, ..]) banned[first] = -100f;
        return new GenerationOptions
        {
            MaxNewTokens = settings.MaxNewTokens,
            StopStrings = settings.Stop,
            Sampling = new SamplingOptions
            {
                Temperature = settings.Temperature, TopP = settings.TopP, TopK = settings.TopK, Seed = settings.Seed, LogitBias = banned,
            },
        };
    }
}
