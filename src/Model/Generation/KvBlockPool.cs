namespace Dromedary.Model.Generation;

/// <summary>
/// The blocks of a paged KV cache, by index: reference counts, free blocks, and the shared-prefix cache. A full
/// block of prompt tokens can be registered under the chain of its own tokens and every block before it; a later
/// sequence whose tokens start the same way takes those blocks (one more reference each) instead of computing
/// them. A registered block that no sequence references stays cached, in least-recently-released order, until
/// a new block is needed and none is free. A registered block is first pending (its keys and values not yet
/// computed) and becomes ready when its owner's forward step has stored them. Not thread-safe.
/// </summary>
public sealed class KvBlockPool
{
    private readonly int[] _references;
    private readonly long[] _serials;
    private readonly bool[] _ready;
    private readonly int[][] _tokens;
    private readonly (long Parent, ulong Hash)[] _keys;
    private readonly Stack<int> _free = new();
    private readonly LinkedList<int> _unused = new();
    private readonly LinkedListNode<int>?[] _unusedNodes;
    private readonly Dictionary<(long Parent, ulong Hash), int> _cached = [];
    private long _nextSerial = 1;

    public KvBlockPool(int blocks, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        Blocks = blocks;
        BlockSize = blockSize;
        _references = new int[blocks];
        _serials = new long[blocks];
        _ready = new bool[blocks];
        _tokens = new int[blocks][];
        _keys = new (long, ulong)[blocks];
        _unusedNodes = new LinkedListNode<int>?[blocks];
        for (var block = blocks - 1; block >= 0; block--) _free.Push(block);
    }

    public int Blocks { get; }
    public int BlockSize { get; }

    /// <summary>Blocks a new sequence can get: free ones and cached ones no sequence references.</summary>
    public int Available => _free.Count + _unused.Count;

    /// <summary>Blocks referenced by at least one sequence.</summary>
    public int InUse => Blocks - Available;

    /// <summary>Blocks registered in the prefix cache, referenced or not.</summary>
    public int CachedBlocks => _cached.Count;

    /// <summary>Blocks taken from the prefix cache instead of being computed, since the pool was made.</summary>
    public long PrefixHits { get; private set; }

    public int References(int block) => _references[block];

    /// <summary>
    /// The cached blocks that hold the first full blocks of <paramref name="tokens"/>, at most
    /// <paramref name="maxBlocks"/>, and whether the match stopped at a block still pending (a sequence in flight is
    /// computing it: waiting for it beats computing it twice). Takes nothing; <see cref="Take"/> does.
    /// </summary>
    public (List<int> Blocks, bool Pending) Match(ReadOnlySpan<int> tokens, int maxBlocks)
    {
        var matched = new List<int>();
        long parent = 0;
        for (var b = 0; b < maxBlocks && (b + 1) * BlockSize <= tokens.Length; b++)
        {
            var content = tokens.Slice(b * BlockSize, BlockSize);
            if (!_cached.TryGetValue((parent, Hash(content)), out var block) || !content.SequenceEqual(_tokens[block])) break;
            if (!_ready[block]) return (matched, true);
            matched.Add(block);
            parent = _serials[block];
        }
        return (matched, false);
    }

    /// <summary>One more reference to each of <paramref name="blocks"/> (cached blocks a sequence reuses).</summary>
    public void Take(IEnumerable<int> blocks)
    {
        foreach (var block in blocks)
        {
            if (_references[block]++ == 0) Unlist(block);
            PrefixHits++;
        }
    }

    /// <summary>A block for new keys and values, with one reference: a free one, else the least recently released cached one.</summary>
    public int Allocate()
    {
        int block;
        if (_free.Count > 0) block = _free.Pop();
        else if (_unused.First is { } oldest)
        {
            block = oldest.Value;
            Unlist(block);
            Unregister(block);
        }
        else throw new InvalidOperationException("no KV block is free");
        _references[block] = 1;
        return block;
    }

    /// <summary>
    /// Enters <paramref name="block"/> (pending) into the prefix cache as the block holding <paramref name="tokens"/>
    /// after <paramref name="parent"/> (−1 for a sequence's first block). Skipped when the parent is not cached or
    /// the same chain is already there.
    /// </summary>
    public void Register(int block, int parent, ReadOnlySpan<int> tokens)
    {
        if (tokens.Length != BlockSize) throw new ArgumentException($"a block holds {BlockSize} tokens, not {tokens.Length}", nameof(tokens));
        var parentSerial = parent < 0 ? 0 : _serials[parent];
        if (parent >= 0 && parentSerial == 0) return;
        var key = (parentSerial, Hash(tokens));
        if (!_cached.TryAdd(key, block)) return;
        _keys[block] = key;
        _serials[block] = _nextSerial++;
        _tokens[block] = tokens.ToArray();
        _ready[block] = false;
    }

    /// <summary>The block's keys and values are stored: sequences may now share it.</summary>
    public void MarkReady(int block)
    {
        if (_serials[block] != 0) _ready[block] = true;
    }

    /// <summary>One reference less; an unreferenced block goes to the cache's unused list if it is ready and cached, else is freed.</summary>
    public void Release(int block)
    {
        if (_references[block] <= 0) throw new InvalidOperationException($"KV block {block} is not referenced");
        if (--_references[block] > 0) return;
        if (_serials[block] != 0 && _ready[block]) _unusedNodes[block] = _unused.AddLast(block);
        else
        {
            Unregister(block);
            _free.Push(block);
        }
    }

    private void Unlist(int block)
    {
        if (_unusedNodes[block] is not { } node) return;
        _unused.Remove(node);
        _unusedNodes[block] = null;
    }

    /// <summary>Drops the block from the cache. Its serial is never reused, so cached children keyed by it can no longer match.</summary>
    private void Unregister(int block)
    {
        if (_serials[block] == 0) return;
        _cached.Remove(_keys[block]);
        _serials[block] = 0;
        _tokens[block] = [];
        _ready[block] = false;
    }

    /// <summary>FNV-1a over the token ids; a collision only costs a miss, since matches compare the tokens too.</summary>
    private static ulong Hash(ReadOnlySpan<int> tokens)
    {
        var hash = 14695981039346656037UL;
        foreach (var token in tokens) hash = (hash ^ (uint)token) * 1099511628211UL;
        return hash;
    }
}
