namespace Dromedary.Training.Data;

/// <summary>
/// One micro-batch, right-padded to its longest example: ids and labels are [Rows, Length] row-major, padding is
/// id 0 with label −100, and <see cref="Lengths"/> holds each row's real length so kernels can skip the padding.
/// </summary>
public sealed record MicroBatch(int Rows, int Length, int[] InputIds, int[] Labels, int[] Lengths, int CountedTokens);

/// <summary>
/// The micro-batches of one optimizer step. The loss of every micro-batch is divided by the step's
/// <see cref="CountedTokens"/>, so the accumulated gradient is that of the mean over the whole step, not a mean
/// of per-micro-batch means. A step may count 0 tokens (every answer cut off); the trainer then skips it.
/// </summary>
public sealed record StepBatch(IReadOnlyList<MicroBatch> MicroBatches, int CountedTokens);

public static class BatchBuilder
{
    /// <summary>The original's pad id: unk, so padding never reads as EOS.</summary>
    public const int PadId = 0;

    /// <summary>Splits a step's examples, in order, into micro-batches of at most <paramref name="microBatchSize"/>.</summary>
    public static StepBatch Step(IReadOnlyList<TokenizedExample> examples, int microBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(microBatchSize, 1);
        var batches = examples.Chunk(microBatchSize).Select(Pad).ToArray();
        return new StepBatch(batches, batches.Sum(batch => batch.CountedTokens));
    }

    public static MicroBatch Pad(IReadOnlyList<TokenizedExample> examples)
    {
        if (examples.Count == 0) throw new ArgumentException("a micro-batch needs at least one example", nameof(examples));
        var length = examples.Max(example => example.Length);
        var ids = new int[examples.Count * length];
        var labels = new int[examples.Count * length];
        var lengths = new int[examples.Count];
        var counted = 0;
        for (var row = 0; row < examples.Count; row++)
        {
            var example = examples[row];
            if (example.Labels.Length != example.Length)
                throw new ArgumentException($"example {row} has {example.Length} ids but {example.Labels.Length} labels", nameof(examples));
            var at = row * length;
            example.InputIds.CopyTo(ids, at);
            example.Labels.CopyTo(labels, at);
            ids.AsSpan(at + example.Length, length - example.Length).Fill(PadId);
            labels.AsSpan(at + example.Length, length - example.Length).Fill(TokenizedExample.IgnoreLabel);
            lengths[row] = example.Length;
            counted += example.CountedTokens;
        }
        return new MicroBatch(examples.Count, length, ids, labels, lengths, counted);
    }
}
