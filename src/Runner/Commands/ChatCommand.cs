using System.ComponentModel;
using System.Globalization;
using Dromedary.Model.Generation;
using Dromedary.SelfAlign.Jobs;
using Dromedary.SelfAlign.Prompts;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>Talks with the model in the chat format of METHOD.md §6.2, with the stream demo's decoding (§6.3).</summary>
internal sealed class ChatCommand : Command<ChatCommand.Settings>
{
    internal sealed class Settings : ModelSettings
    {
        [CommandOption("--system <FILE>")]
        [Description("Meta prompt file ending in a \"### User\" header; default: our verbose Dromedary prompt.")]
        public string? System { get; init; }

        [CommandOption("--temperature <T>")]
        [Description("Sampling temperature; 0 = greedy.")]
        [DefaultValue(0.5f)]
        public float Temperature { get; init; } = 0.5f;

        [CommandOption("--top-p <P>")]
        [Description("Sample from the smallest set of tokens whose mass reaches P.")]
        [DefaultValue(0.9f)]
        public float TopP { get; init; } = 0.9f;

        [CommandOption("--max-new-tokens <N>")]
        [Description("Longest reply in tokens.")]
        [DefaultValue(384)]
        public int MaxNewTokens { get; init; } = 384;

        [CommandOption("--seed <N>")]
        [Description("Random seed: the same conversation and seed give the same replies.")]
        [DefaultValue(1UL)]
        public ulong Seed { get; init; } = 1;

        public override ValidationResult Validate() =>
            MaxNewTokens < 1 ? ValidationResult.Error("--max-new-tokens must be at least 1.") : base.Validate();
    }

    /// <summary>The original's unigram penalty on word-initial pieces (METHOD.md §6.3).</summary>
    private static readonly float[] UnigramPenalty = [0.3f, 0f, 0f, 0f];

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var format = settings.System is { } file ? ChatPrompt.FromFile(file) : ChatPrompt.Default();
        using var opened = ModelOpener.Open(settings);
        var conversation = new ChatConversation(format);
        var replyRoom = Math.Min(settings.MaxNewTokens, ChatConversation.MinReplyTokens);
        bool Fits(string prompt) => opened.Tokenizer.Encode(prompt).Length + replyRoom <= opened.Model.Config.MaxPositions;
        var interactive = !Console.IsInputRedirected;
        if (interactive) Console.Error.WriteLine("Say something. /reset forgets the conversation; /exit or end of input quits.");

        for (var turn = 0; !cancellation.IsCancellationRequested;)
        {
            if (interactive) Console.Error.Write("\nUser: ");
            var user = Console.In.ReadLine()?.Trim();
            if (user is null or "/exit") break;
            if (user.Length == 0) continue;
            if (user == "/reset")
            {
                // A fresh start: the turns after it sample as those of a new chat with the same seed.
                conversation.Reset();
                turn = 0;
                Console.Error.WriteLine("[conversation forgotten]");
                continue;
            }
            if (conversation.Prompt(user, Fits) is not { } prompt)
            {
                Console.Error.WriteLine($"error: that message leaves no room for a reply in the model's {opened.Model.Config.MaxPositions}-token context.");
                continue;
            }
            var options = new GenerationOptions
            {
                MaxNewTokens = settings.MaxNewTokens,
                StopStrings = [ChatPrompt.UserHeader],
                Sampling = new SamplingOptions
                {
                    Temperature = settings.Temperature, TopP = settings.TopP, NgramPenalties = UnigramPenalty,
                    Seed = RequestSeed.For(settings.Seed, turn.ToString(CultureInfo.InvariantCulture)),
                },
            };
            if (interactive) Console.Error.Write("\nDromedary: ");
            var shown = new ReplyStream();
            var result = TextGeneration.Run(opened.Model, opened.Tokenizer, prompt, options, text => Show(shown.Push(text)));
            var reply = ChatPrompt.CleanReply(result.Text);
            Show(shown.Finish(reply));
            Console.Out.WriteLine();
            conversation.Add(user, reply);
            turn++;
        }
        return 0;
    }

    private static void Show(string text)
    {
        Console.Out.Write(text);
        Console.Out.Flush();
    }
}
