using System.ComponentModel;
using System.Text.Json;
using Dromedary.Model.Inference;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class LogprobsCommand : Command<LogprobsCommand.Settings>
{
    internal sealed class Settings : ModelSettings
    {
        [CommandOption("--text <TEXT>")]
        [Description("Text to score; BOS is prepended.")]
        public string? Text { get; init; }

        [CommandOption("--json")]
        [Description("Print {\"tokens\": [[...]], \"logprobs\": [[...]]}; logprobs[[i]] = log p(tokens[[i+1]] | tokens[[0..i]]).")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            Text is null ? ValidationResult.Error("--text <TEXT> is required.") : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var opened = ModelOpener.Open(settings);
        var tokens = opened.Tokenizer.Encode(settings.Text!);
        var logprobs = Scoring.TokenLogProbs(opened.Model, tokens);
        if (settings.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { tokens, logprobs }, JsonOutput.Options));
            return 0;
        }
        var table = new Table().AddColumns("#", "id", "piece", "log p");
        for (var i = 1; i < tokens.Length; i++)
            table.AddRow($"{i}", $"{tokens[i]}", Markup.Escape(opened.Tokenizer.Piece(tokens[i])), $"{logprobs[i - 1]:F4}");
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"total log p = {logprobs.Sum():F4} over {logprobs.Length} tokens");
        return 0;
    }
}
