namespace Dromedary.Training.Lora;

/// <summary>
/// The sequences of a micro-batch packed into one block of tokens: concatenated without padding (each cut after
/// its last counted target, as a lone sequence is run), positions restarting at 0 for each, and each sequence's
/// dropout key its place in the optimizer step, so the masks do not depend on how the step is split. Every
/// row-wise op of a pass runs over the whole block at once; attention sees <see cref="Bounds"/>.
/// </summary>
/// <param name="ids">The block's token ids (capacity = the block's tokens); <paramref name="positions"/> and
/// <paramref name="targets"/> alike: the pass's own buffers (host staging for a device pass).</param>
/// <param name="maxSequenceTokens">The longest sequence the pass takes.</param>
internal sealed class TokenBlock(int[] ids, int[] positions, int[] targets, int maxSequenceTokens, int vocabSize)
{
    private readonly int[] _bounds = new int[ids.Length + 1];
    private readonly DropoutKey[] _keys = new DropoutKey[ids.Length];
    private readonly int[] _sequenceTargets = new int[maxSequenceTokens];

    public int Capacity => ids.Length;

    /// <summary>Tokens packed.</summary>
    public int Tokens => _bounds[Sequences];

    /// <summary>Sequences packed (those with no counted target are left out: they add nothing).</summary>
    public int Sequences { get; private set; }

    /// <summary>Sequence s is rows Bounds[s] .. Bounds[s + 1] − 1.</summary>
    public ReadOnlySpan<int> Bounds => _bounds.AsSpan(0, Sequences + 1);

    public ReadOnlySpan<int> Ids => ids.AsSpan(0, Tokens);
    public ReadOnlySpan<int> Positions => positions.AsSpan(0, Tokens);

    /// <summary>targets[t] = the label token t predicts, −100 where none counts.</summary>
    public ReadOnlySpan<int> Targets => targets.AsSpan(0, Tokens);

    /// <summary>Keys the dropout masks of sequence s's rows.</summary>
    public DropoutKey Key(int s) => _keys[s];

    /// <summary>
    /// Packs sequences[from], sequences[from + 1], … while they fit (a sequence is never split) and returns the index
    /// of the first one left for the next block.
    /// </summary>
    /// <param name="firstSequence">The index of sequences[0] among the step's examples: with the step, the dropout key.</param>
    public int Pack(IReadOnlyList<TrainingSequence> sequences, int from, long step, int firstSequence)
    {
        Sequences = 0;
        var next = from;
        for (; next < sequences.Count; next++)
        {
            var n = TrainingTargets.Fill(sequences[next], next, maxSequenceTokens, vocabSize, _sequenceTargets);
            if (n == 0) continue;
            var start = Tokens;
            if (start + n > Capacity) break;
            sequences[next].InputIds.AsSpan(0, n).CopyTo(ids.AsSpan(start));
            _sequenceTargets.AsSpan(0, n).CopyTo(targets.AsSpan(start));
            for (var t = 0; t < n; t++) positions[start + t] = t;
            _keys[Sequences] = new DropoutKey(step, firstSequence + next);
            _bounds[++Sequences] = start + n;
        }
        return next;
    }
}
