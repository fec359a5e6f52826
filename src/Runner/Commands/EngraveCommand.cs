using Dromedary.SelfAlign.FineTuning;
using Dromedary.SelfAlign.Engraving;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>`dromedary engrave`: stage 3, a LoRA on the base trained on stage 2's kept records under our standard prompt.</summary>
internal sealed class EngraveCommand : Command<LoraRunSettings>
{
    public override int Execute(CommandContext context, LoraRunSettings settings, CancellationToken cancellation)
    {
        var options = settings.ToOptions(settings.Data, settings.Out, PrincipleEngraving.Template(), PrincipleEngraving.Cutoff);
        return FineTuneExecution.Run(FineTune.Prepare(options), options, settings.BaseModel(), cancellation);
    }
}
