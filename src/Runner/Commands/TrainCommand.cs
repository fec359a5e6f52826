using Dromedary.SelfAlign.FineTuning;
using Dromedary.SelfAlign.Prompts;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class TrainCommand : Command<TrainSettings>
{
    public override int Execute(CommandContext context, TrainSettings settings, CancellationToken cancellation)
    {
        var options = settings.ToOptions(settings.Data, settings.Out, TrainingTemplate.Default(), FineTuneOptions.DefaultCutoff) with
        {
            InitAdapter = settings.InitAdapter, Format = settings.Format, TrainOnInputs = settings.TrainOnInputs,
        };
        return FineTuneExecution.Run(FineTune.Prepare(options), options, settings.BaseModel(), cancellation);
    }
}
