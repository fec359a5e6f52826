using Dromedary.Model.Llama;

namespace Dromedary.Model.Generation;

/// <summary>
/// Continuous batching over a paged KV cache. Sequences are admitted while there is a free slot and the blocks
/// they will need (their prompt's cached prefix blocks are shared, the rest taken up front, so a running sequence
/// never waits for memory). Each step carries one decode row for every sequence with one token to feed, then
/// prefill chunks of the others in admission order, up to the step's token budget; a finished sequence frees its
/// slot and blocks at once for the next admission. A row's computation depends only on its own sequence, so a
/// result never depends on what shared its step.
/// </summary>
internal sealed class PagedScheduler : IDisposable
{
    private readonly EngineOptions _options;
    private readonly PagedForward _forward;
    private readonly List<PagedSequence> _running = [];
    private readonly int[] _tokens, _positions, _tables;
    private readonly PagedSequence[] _rowSequence;
    private readonly float[] _logProbs;
    private readonly int _vocab;

    public PagedScheduler(LlamaModel model, EngineOptions options)
    {
        options.Validate();
        _options = options;
        _forward = new PagedForward(model, options);
        var shape = _forward.Shape;
        Pool = new KvBlockPool(shape.Blocks, shape.BlockSize);
        Context = options.ContextFor(model.Config);
        _vocab = model.Config.VocabSize;
        _tokens = new int[shape.MaxRows];
        _positions = new int[shape.MaxRows];
        _tables = new int[shape.MaxRows * shape.TableWidth];
        _rowSequence = new PagedSequence[shape.MaxRows];
        _logProbs = new float[_forward.HeadRows * _vocab];
    }

    public KvBlockPool Pool { get; }

    /// <summary>Positions a sequence may use.</summary>
    public int Context { get; }

    public int Running => _running.Count;

    public bool HasRoom => _running.Count < _options.MaxSequences;

    /// <summary>Blocks a sequence feeding <paramref name="positions"/> positions needs, with nothing shared.</summary>
    public int BlocksFor(int positions) => (positions + Pool.BlockSize - 1) / Pool.BlockSize;

    /// <summary>
    /// Starts <paramref name="sequence"/> if a slot and its blocks are free now; false leaves everything as it was
    /// (also when a prefix block it would share is still being computed).
    /// </summary>
    public bool TryAdmit(PagedSequence sequence)
    {
        if (!HasRoom) return false;
        var blockSize = Pool.BlockSize;
        var tokens = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(sequence.Tokens);
        List<int> shared = [];
        if (_options.SharePrefixes)
        {
            var (matched, pending) = Pool.Match(tokens, sequence.LogitsFrom / blockSize);
            if (pending) return false;
            shared = matched;
        }
        var needed = BlocksFor(sequence.MaxFed);
        if (needed - shared.Count > Pool.Available - UnusedAmong(shared)) return false;

        Pool.Take(shared);
        var table = new int[_forward.Shape.TableWidth];
        shared.CopyTo(table);
        for (var b = shared.Count; b < needed; b++) table[b] = Pool.Allocate();
        sequence.Table = table;
        sequence.BlockCount = needed;
        sequence.Computed = shared.Count * blockSize;
        sequence.RegisteredFrom = sequence.RegisteredTo = shared.Count;
        if (_options.SharePrefixes)
        {
            var full = sequence.FeedEnd / blockSize;
            for (var b = shared.Count; b < full; b++)
                Pool.Register(table[b], b == 0 ? -1 : table[b - 1], tokens.Slice(b * blockSize, blockSize));
            sequence.RegisteredTo = Math.Max(shared.Count, full);
        }
        _running.Add(sequence);
        return true;
    }

    /// <summary>How many of <paramref name="blocks"/> sit unreferenced in the cache (taking them makes them unavailable).</summary>
    private int UnusedAmong(List<int> blocks) => blocks.Count(block => Pool.References(block) == 0);

    /// <summary>Runs one forward step over the running sequences; returns those that finished (their blocks released).</summary>
    public List<PagedSequence> Step()
    {
        var rows = 0;
        foreach (var sequence in _running)
            if (sequence.FeedEnd - sequence.Computed == 1) AddRows(sequence, 1, ref rows);
        foreach (var sequence in _running)
        {
            var pending = sequence.FeedEnd - sequence.Computed;
            if (pending > 1 && rows < _tokens.Length) AddRows(sequence, Math.Min(pending, _tokens.Length - rows), ref rows);
        }

        _forward.Run(_tokens.AsSpan(0, rows), _positions.AsSpan(0, rows), _tables.AsSpan(0, rows * _forward.Shape.TableWidth));
        for (var row = 0; row < rows; row++) _rowSequence[row].Computed++;
        foreach (var sequence in _running) MarkComputedBlocks(sequence);

        var finished = new List<PagedSequence>();
        Span<int> logitRows = stackalloc int[_forward.HeadRows];
        var count = 0;
        for (var row = 0; row <= rows; row++)
        {
            if (count == logitRows.Length || (row == rows && count > 0))
            {
                _forward.LogProbs(logitRows[..count], _logProbs);
                for (var i = 0; i < count; i++)
                {
                    var sequence = _rowSequence[logitRows[i]];
                    if (sequence.Accept(_positions[logitRows[i]], _logProbs.AsSpan(i * _vocab, _vocab))) finished.Add(sequence);
                }
                count = 0;
            }
            if (row < rows && _positions[row] >= _rowSequence[row].LogitsFrom) logitRows[count++] = row;
        }
        foreach (var sequence in finished) Finish(sequence);
        return finished;
    }

    private void AddRows(PagedSequence sequence, int count, ref int rows)
    {
        var width = _forward.Shape.TableWidth;
        for (var i = 0; i < count; i++, rows++)
        {
            var position = sequence.Computed + i;
            _tokens[rows] = sequence.Tokens[position];
            _positions[rows] = position;
            sequence.Table.CopyTo(_tables.AsSpan(rows * width, width));
            _rowSequence[rows] = sequence;
        }
    }

    /// <summary>Blocks this sequence registered become shareable once every position in them is stored.</summary>
    private void MarkComputedBlocks(PagedSequence sequence)
    {
        var done = Math.Min(sequence.RegisteredTo, sequence.Computed / Pool.BlockSize);
        for (; sequence.RegisteredFrom < done; sequence.RegisteredFrom++) Pool.MarkReady(sequence.Table[sequence.RegisteredFrom]);
    }

    /// <summary>Releases a sequence's blocks, last first, so a prefix's deepest blocks are the first evicted.</summary>
    private void Finish(PagedSequence sequence)
    {
        _running.Remove(sequence);
        for (var b = sequence.BlockCount - 1; b >= 0; b--) Pool.Release(sequence.Table[b]);
        sequence.BlockCount = 0;
    }

    /// <summary>Drops every running sequence (a cancelled or abandoned run), releasing their blocks.</summary>
    public void Abandon()
    {
        foreach (var sequence in _running.ToArray()) Finish(sequence);
    }

    public void Dispose() => _forward.Dispose();
}
