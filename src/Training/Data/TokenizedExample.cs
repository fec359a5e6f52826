using Dromedary.Kernels.Cpu;

namespace Dromedary.Training.Data;

/// <summary>
/// Token ids and their labels, position for position as Hugging Face keeps them: the loss at position i predicts
/// Labels[i + 1], and a label of <see cref="IgnoreLabel"/> is not counted.
/// </summary>
public sealed record TokenizedExample(int[] InputIds, int[] Labels)
{
    public const int IgnoreLabel = CpuCrossEntropy.IgnoreIndex;

    public int Length => InputIds.Length;

    /// <summary>
    /// The labels the loss predicts: all counted labels but the first position's, which has no token before it
    /// (the causal-LM loss shifts labels left by one and drops it).
    /// </summary>
    public int CountedTokens
    {
        get
        {
            var counted = 0;
            for (var i = 1; i < Labels.Length; i++)
                if (Labels[i] != IgnoreLabel) counted++;
            return counted;
        }
    }
}
