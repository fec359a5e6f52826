using Dromedary.Training.Data;
using Xunit;

namespace Dromedary.Tests.Training;

/// <summary>Right padding of micro-batches, the step's counted-token total, and the resumable shuffle.</summary>
public sealed class TrainingBatchTests
{
    private const int I = TokenizedExample.IgnoreLabel;

    private static readonly TokenizedExample[] Examples =
    [
        new([1, 10, 11], [I, I, 11]),
        new([1, 20, 21, 22, 23], [I, 20, 21, 22, 23]),
        new([1, 30], [1, 30]),
    ];

    [Fact]
    public void A_micro_batch_is_right_padded_with_id_0_and_ignored_labels()
    {
        var batch = BatchBuilder.Pad(Examples[..2]);
        Assert.Equal(2, batch.Rows);
        Assert.Equal(5, batch.Length);
        Assert.Equal([1, 10, 11, 0, 0, 1, 20, 21, 22, 23], batch.InputIds);
        Assert.Equal([I, I, 11, I, I, I, 20, 21, 22, 23], batch.Labels);
        Assert.Equal([3, 5], batch.Lengths);
        Assert.Equal(1 + 4, batch.CountedTokens);
    }

    [Fact]
    public void A_step_counts_the_predicted_tokens_of_all_its_micro_batches()
    {
        var step = BatchBuilder.Step(Examples, microBatchSize: 2);
        Assert.Equal(2, step.MicroBatches.Count);
        Assert.Equal(1, step.MicroBatches[1].Rows);
        Assert.Equal(2, step.MicroBatches[1].Length);
        // The first label of a row is never predicted, so example 3 counts 1 of its 2 labels.
        Assert.Equal(1 + 4 + 1, step.CountedTokens);
        Assert.Equal(step.MicroBatches.Sum(b => b.CountedTokens), step.CountedTokens);
    }

    [Fact]
    public void Each_epoch_is_a_permutation_fixed_by_seed_and_epoch()
    {
        var first = ExampleOrder.Permutation(1000, seed: 42, epoch: 0);
        Assert.Equal(Enumerable.Range(0, 1000), first.Order());
        Assert.Equal(first, ExampleOrder.Permutation(1000, seed: 42, epoch: 0));
        Assert.NotEqual(first, ExampleOrder.Permutation(1000, seed: 42, epoch: 1));
        Assert.NotEqual(first, ExampleOrder.Permutation(1000, seed: 43, epoch: 0));
        Assert.NotEqual(Enumerable.Range(0, 1000), first);
    }

    [Fact]
    public void Batches_end_with_a_short_one_per_epoch_then_reshuffle()
    {
        var order = new ExampleOrder(10, seed: 1);
        Assert.Equal(4, order.NextBatch(4).Length);
        Assert.Equal(4, order.NextBatch(4).Length);
        Assert.Equal(2, order.NextBatch(4).Length);
        Assert.Equal(new DataCursor(0, 10), order.Cursor);
        var next = order.NextBatch(4);
        Assert.Equal(new DataCursor(1, 4), order.Cursor);
        Assert.Equal(ExampleOrder.Permutation(10, 1, 1)[..4], next);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    public void A_restored_cursor_continues_the_same_order(int stopAfter)
    {
        var uninterrupted = new ExampleOrder(13, seed: 7);
        var expected = Enumerable.Range(0, 10).Select(_ => uninterrupted.NextBatch(4)).ToArray();
        var first = new ExampleOrder(13, seed: 7);
        var before = Enumerable.Range(0, stopAfter).Select(_ => first.NextBatch(4)).ToArray();
        var resumed = new ExampleOrder(13, seed: 7, first.Cursor);
        var after = Enumerable.Range(0, 10 - stopAfter).Select(_ => resumed.NextBatch(4));
        Assert.Equal(expected, before.Concat(after));
    }

    [Fact]
    public void A_cursor_past_the_data_is_rejected() =>
        Assert.Throws<DromedaryException>(() => new ExampleOrder(5, seed: 1, new DataCursor(0, 6)));
}
