using Dromedary.Kernels.Cpu;

namespace Dromedary.Training.Lora;

/// <summary>
/// One training sequence as Hugging Face's causal LM takes it: <see cref="Labels"/> is aligned with
/// <see cref="InputIds"/> (a copy of them with uncounted positions set to −100), and the loss at position t is
/// −log p(labels[t] | inputIds[0 .. t−1]); labels[0] is never predicted.
/// </summary>
public readonly record struct TrainingSequence(int[] InputIds, int[] Labels)
{
    public const int Ignored = CpuCrossEntropy.IgnoreIndex;

    /// <summary>Tokens whose loss counts: labels other than −100 after the first position.</summary>
    public int CountedTargets
    {
        get
        {
            var count = 0;
            for (var t = 1; t < Labels.Length; t++) if (Labels[t] != Ignored) count++;
            return count;
        }
    }
}
