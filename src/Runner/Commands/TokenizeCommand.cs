using System.ComponentModel;
using System.Text.Json;
using Dromedary.Model.Tokenization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class TokenizeCommand : Command<TokenizeCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandOption("--model <PATH>")]
        [Description("Model folder holding tokenizer.model, or the tokenizer.model file.")]
        public string Model { get; init; } = "";

        [CommandOption("--text <TEXT>")]
        [Description("Text to tokenize (BOS is prepended, EOS is not).")]
        public string? Text { get; init; }

        [CommandOption("--json")]
        [Description("Print {\"ids\": [[...]], \"pieces\": [[...]]}.")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("--model <PATH> is required.")
            : Text is null ? ValidationResult.Error("--text <TEXT> is required.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var tokenizer = TextTokenizer.Load(settings.Model);
        var ids = tokenizer.Encode(settings.Text!);
        var pieces = ids.Select(tokenizer.Piece).ToArray();
        if (settings.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { ids, pieces }, JsonOutput.Options));
            return 0;
        }
        var table = new Table().AddColumns("#", "id", "piece");
        for (var i = 0; i < ids.Length; i++) table.AddRow($"{i}", $"{ids[i]}", Markup.Escape(pieces[i]));
        AnsiConsole.Write(table);
        return 0;
    }
}
