using Dromedary.SelfAlign.Evaluation;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class EvalTruthfulQaCommand : Command<EvalSettings>
{
    public override int Execute(CommandContext context, EvalSettings settings, CancellationToken cancellation)
    {
        var protocol = settings.Protocol ?? TruthfulQaProtocols.TrueFalse;
        var protocols = TruthfulQaProtocols.Parse(protocol);
        var questions = TruthfulQaReader.Read(settings.Data);
        return EvalSession.Run("truthfulqa", settings, settings.Recorded("truthfulqa", protocol),
            (_, meta) => TruthfulQaProtocols.Plan(questions, protocols, meta, settings.Limit), cancellation);
    }
}
