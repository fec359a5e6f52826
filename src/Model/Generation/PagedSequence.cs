namespace Dromedary.Model.Generation;

/// <summary>
/// A sequence the <see cref="PagedScheduler"/> runs: tokens to feed through the model, the blocks holding their
/// keys and values, and what it does with the log-probs of its positions from <see cref="LogitsFrom"/> on.
/// </summary>
internal abstract class PagedSequence(List<int> tokens, int logitsFrom)
{
    public List<int> Tokens { get; } = tokens;

    /// <summary>Positions whose keys and values are stored (taken from the prefix cache or computed).</summary>
    public int Computed { get; set; }

    /// <summary>Positions from here on need their log-probs.</summary>
    public int LogitsFrom { get; } = logitsFrom;

    /// <summary>The block table: entry b holds positions b·blockSize ..; sized to the cache's table width.</summary>
    public int[] Table { get; set; } = [];

    public int BlockCount { get; set; }

    /// <summary>Full blocks entered into the prefix cache that this sequence computes (indices into <see cref="Table"/>).</summary>
    public int RegisteredFrom { get; set; }

    public int RegisteredTo { get; set; }

    /// <summary>Tokens to run through the model so far (a generation's last sampled token is fed next step).</summary>
    public abstract int FeedEnd { get; }

    /// <summary>The most positions this sequence will ever feed: its blocks are taken up front for these.</summary>
    public abstract int MaxFed { get; }

    /// <summary>Takes the log-probs after position <paramref name="position"/>; true when the sequence is done.</summary>
    public abstract bool Accept(int position, ReadOnlySpan<float> logProbs);
}
