using System.ComponentModel;
using Dromedary.SelfAlign.Evaluation;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class EvalHhhCommand : Command<EvalHhhCommand.Settings>
{
    internal sealed class Settings : EvalSettings
    {
        [CommandOption("--max-seq-len <N>")]
        [Description("The original's max_seq_len: texts over (N - 256) / 3 tokens keep their last tokens.")]
        [DefaultValue(1536)]
        public int MaxSeqLen { get; init; } = 1536;

        public override Dictionary<string, string?> Recorded(string benchmark, string protocol)
        {
            var recorded = base.Recorded(benchmark, protocol);
            recorded["max_seq_len"] = MaxSeqLen.ToString();
            return recorded;
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var protocol = settings.Protocol ?? HhhProtocol.Name;
        HhhProtocol.Parse(protocol);
        var examples = HhhReader.Read(settings.Data);
        return EvalSession.Run("hhh", settings, settings.Recorded("hhh", protocol),
            (tokenizer, meta) => HhhProtocol.Plan(examples, meta, new HhhTruncation(tokenizer, settings.MaxSeqLen), settings.Limit), cancellation);
    }
}
