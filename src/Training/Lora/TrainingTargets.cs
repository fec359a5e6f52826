using Dromedary.Model.Config;
using Dromedary.Model.Inference;

namespace Dromedary.Training.Lora;

/// <summary>What a sequence's positions are trained to predict, checked once for every training pass.</summary>
internal static class TrainingTargets
{
    /// <summary>A pass sized for sequences of up to maxTokens must fit the model's positions.</summary>
    public static void CheckMaxTokens(int maxTokens, LlamaConfig config)
    {
        if (maxTokens < 1 || maxTokens > config.MaxPositions)
            throw new DromedaryException($"the longest training sequence must be 1 .. {config.MaxPositions} tokens (max_position_embeddings), not {maxTokens}.");
    }

    /// <summary>Tokens of a block that holds <paramref name="maxSequences"/> sequences of up to <paramref name="maxTokens"/>.</summary>
    public static int BlockTokens(int maxTokens, int maxSequences)
    {
        if (maxSequences < 1 || (long)maxTokens * maxSequences > int.MaxValue)
            throw new DromedaryException($"a micro-batch of {maxSequences} × {maxTokens} tokens is out of range.");
        return maxTokens * maxSequences;
    }

    /// <summary>
    /// Fills <paramref name="targets"/> (targets[t] = labels[t + 1], the token position t predicts) and returns how
    /// many positions to run: up to the last counted target, 0 when none counts.
    /// </summary>
    public static int Fill(TrainingSequence sequence, int index, int maxTokens, int vocabSize, Span<int> targets)
    {
        var (ids, labels) = (sequence.InputIds, sequence.Labels);
        if (ids.Length != labels.Length)
            throw new DromedaryException($"training sequence {index}: {ids.Length} input ids but {labels.Length} labels.");
        if (ids.Length > maxTokens)
            throw new DromedaryException($"training sequence {index}: {ids.Length} tokens, more than the {maxTokens} this pass was sized for.");
        Scoring.CheckIds(ids, vocabSize);
        var run = 0;
        for (var t = 0; t + 1 < ids.Length; t++)
        {
            var label = labels[t + 1];
            if (label != TrainingSequence.Ignored && (uint)label >= (uint)vocabSize)
                throw new DromedaryException($"training sequence {index}: label {label} at position {t + 1} is neither −100 nor a token id below {vocabSize}.");
            targets[t] = label;
            if (label != TrainingSequence.Ignored) run = t + 1;
        }
        return run;
    }
}
