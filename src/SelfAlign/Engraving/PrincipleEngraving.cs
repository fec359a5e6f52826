using Dromedary.SelfAlign.FineTuning;
using Dromedary.SelfAlign.Prompts;

namespace Dromedary.SelfAlign.Engraving;

/// <summary>
/// Stage 3, principle engraving (METHOD.md §4): a LoRA on the base trained on the stage-2 records. Their answers
/// already stand alone (stage 2's filter kept only the text after "Watson:"), so what engraving prunes is the rest of
/// the stage-2 prompt: the principles, the exemplars and the internal thoughts never reach training; each record
/// is framed by our short standard prompt instead, with the loss on the answer only.
/// </summary>
public static class PrincipleEngraving
{
    public const int Cutoff = FineTuneOptions.DefaultCutoff;

    public static TrainingTemplate Template() => TrainingTemplate.Default();
}
