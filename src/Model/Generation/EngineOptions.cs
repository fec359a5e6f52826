using Dromedary.Model.Config;

namespace Dromedary.Model.Generation;

/// <summary>
/// The batched engine's sizes: sequences in flight, the paged KV cache (blocks of <see cref="BlockSize"/>
/// positions), the tokens one forward step may carry (decode rows of every running sequence plus prefill chunks),
/// and whether prompts share the cached blocks of a common prefix. A model loaded with these options
/// (<see cref="Llama.ModelLoadOptions.Engine"/>) has them counted in its memory plan.
/// </summary>
public sealed record EngineOptions
{
    public int MaxSequences { get; init; } = 16;

    /// <summary>Positions per KV block; a power of two.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>KV blocks in the cache; 0 gives every sequence a full context.</summary>
    public int KvBlocks { get; init; }

    /// <summary>Token rows per forward step; at least one more than <see cref="MaxSequences"/>, so prefill always advances.</summary>
    public int StepTokens { get; init; } = 256;

    public bool SharePrefixes { get; init; } = true;

    /// <summary>Positions a sequence may use; default the model's max_position_embeddings.</summary>
    public int? Context { get; init; }

    public int ContextFor(LlamaConfig config) => Math.Min(Context ?? config.MaxPositions, config.MaxPositions);

    /// <summary>Block-table entries per sequence: a whole context.</summary>
    public int TableWidth(LlamaConfig config) => (ContextFor(config) + BlockSize - 1) / BlockSize;

    public int BlocksFor(LlamaConfig config) => KvBlocks > 0 ? KvBlocks : MaxSequences * TableWidth(config);

    /// <summary>Rows whose log-probs one head pass computes: one per running sequence.</summary>
    public int HeadRows => MaxSequences;

    public void Validate()
    {
        if (MaxSequences < 1) throw new DromedaryException($"the engine needs at least 1 sequence, not {MaxSequences}.");
        if (BlockSize < 1 || (BlockSize & (BlockSize - 1)) != 0) throw new DromedaryException($"the KV block size must be a power of two, not {BlockSize}.");
        if (KvBlocks < 0) throw new DromedaryException($"KV blocks must be 0 (automatic) or positive, not {KvBlocks}.");
        if (StepTokens <= MaxSequences)
            throw new DromedaryException($"step tokens ({StepTokens}) must exceed max sequences ({MaxSequences}) so that prompts keep advancing.");
        if (Context is < 2) throw new DromedaryException($"the engine's context must be at least 2 positions, not {Context}.");
    }
}
