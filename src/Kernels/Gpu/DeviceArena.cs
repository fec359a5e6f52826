using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// One accelerator's memory for activations, KV caches and small weights: a few large driver allocations
/// (chunks) carved into aligned sub-views. Memory is taken from the driver only inside <see cref="Allocate{T}"/>,
/// which the model calls at load and session creation, never in a forward step. A freed block returns to its
/// chunk's free list and merges with free neighbours, so sessions made and dropped in turn reuse the same memory.
/// Given a size (from a plan) the arena is one chunk of that size and refuses to grow; without one it adds chunks
/// of <see cref="ChunkBytes"/>, or of the request's size when larger. Thread-safe.
/// </summary>
public sealed class DeviceArena : IDisposable
{
    /// <summary>Block alignment, as cudaMalloc's: coalesced access, and a legal start for any element type.</summary>
    public const long Alignment = 256;

    public const long ChunkBytes = 16L << 20;

    private readonly Accelerator _accelerator;
    private bool _fixedSize;
    private readonly List<Chunk> _chunks = [];
    private readonly Lock _lock = new();

    public DeviceArena(Accelerator accelerator, long? bytes = null)
    {
        _accelerator = accelerator;
        if (bytes is not { } size) return;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        _fixedSize = true;
        _chunks.Add(new Chunk(accelerator, RoundUp(size)));
    }

    /// <summary>
    /// Takes <paramref name="bytes"/> (a memory plan's total) from the driver in one piece and stops growing:
    /// from now on allocations are carved from what is held, the planned piece first (what the plan counts lands
    /// in it, not in the room left in chunks the owner took for itself before), and a plan that was too small
    /// fails loudly.
    /// </summary>
    public void Reserve(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        lock (_lock)
        {
            _chunks.Insert(0, new Chunk(_accelerator, RoundUp(bytes)));
            _fixedSize = true;
        }
    }

    /// <summary>
    /// Free bytes of the piece the last <see cref="Reserve"/> took (0 before any): 0 once everything its plan counts
    /// is carved, when nothing of it landed elsewhere.
    /// </summary>
    internal long ReservedPieceFreeBytes
    {
        get
        {
            lock (_lock) return _fixedSize && _chunks.Count > 0 ? _chunks[0].FreeBytes : 0;
        }
    }

    /// <summary>Bytes taken from the driver.</summary>
    public long ReservedBytes
    {
        get
        {
            lock (_lock) return _chunks.Sum(c => c.Bytes);
        }
    }

    /// <summary>Bytes in live blocks, alignment padding included.</summary>
    public long UsedBytes
    {
        get
        {
            lock (_lock) return _chunks.Sum(c => c.Bytes - c.FreeBytes);
        }
    }

    /// <summary>A block of <paramref name="length"/> elements, contents undefined.</summary>
    public DeviceBuffer<T> Allocate<T>(long length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var bytes = RoundUp(Math.Max(1, checked(length * Unsafe.SizeOf<T>())));
        lock (_lock)
        {
            foreach (var chunk in _chunks)
            {
                if (chunk.TryTake(bytes) is { } offset) return new DeviceBuffer<T>(this, chunk, offset, bytes, length);
            }
            if (_fixedSize)
                throw new DromedaryException($"the device arena of {ReservedBytes >> 20} MiB is full: {bytes} more bytes were asked for " +
                                             $"with {_chunks.Sum(c => c.FreeBytes)} free in pieces; plan a larger arena.");
            var added = new Chunk(_accelerator, Math.Max(ChunkBytes, bytes));
            _chunks.Add(added);
            return new DeviceBuffer<T>(this, added, added.TryTake(bytes)!.Value, bytes, length);
        }
    }

    internal void Free(Chunk chunk, long offset, long bytes)
    {
        lock (_lock) chunk.Give(offset, bytes);
    }

    public static long RoundUp(long bytes) => (bytes + Alignment - 1) / Alignment * Alignment;

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var chunk in _chunks) chunk.Buffer.Dispose();
            _chunks.Clear();
        }
    }

    /// <summary>One driver allocation and its free ranges, sorted by offset and never adjacent (merged on free).</summary>
    internal sealed class Chunk(Accelerator accelerator, long bytes)
    {
        private readonly List<(long Offset, long Bytes)> _free = [(0, bytes)];

        public MemoryBuffer1D<byte, Stride1D.Dense> Buffer { get; } = accelerator.Allocate1D<byte>(bytes);
        public long Bytes { get; } = bytes;
        public long FreeBytes => _free.Sum(f => f.Bytes);

        /// <summary>First fit: the lowest free range that holds <paramref name="bytes"/>.</summary>
        public long? TryTake(long bytes)
        {
            for (var i = 0; i < _free.Count; i++)
            {
                var (offset, size) = _free[i];
                if (size < bytes) continue;
                if (size == bytes) _free.RemoveAt(i);
                else _free[i] = (offset + bytes, size - bytes);
                return offset;
            }
            return null;
        }

        public void Give(long offset, long bytes)
        {
            var i = 0;
            while (i < _free.Count && _free[i].Offset < offset) i++;
            var mergesBefore = i > 0 && _free[i - 1].Offset + _free[i - 1].Bytes == offset;
            var mergesAfter = i < _free.Count && offset + bytes == _free[i].Offset;
            if (mergesBefore && mergesAfter)
            {
                _free[i - 1] = (_free[i - 1].Offset, _free[i - 1].Bytes + bytes + _free[i].Bytes);
                _free.RemoveAt(i);
            }
            else if (mergesBefore) _free[i - 1] = (_free[i - 1].Offset, _free[i - 1].Bytes + bytes);
            else if (mergesAfter) _free[i] = (offset, bytes + _free[i].Bytes);
            else _free.Insert(i, (offset, bytes));
        }
    }
}

/// <summary>A block of a <see cref="DeviceArena"/>; disposing returns it to the arena (idempotent).</summary>
public sealed class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    private readonly DeviceArena _arena;
    private readonly DeviceArena.Chunk _chunk;
    private readonly long _offset;
    private readonly long _bytes;
    private bool _disposed;

    internal DeviceBuffer(DeviceArena arena, DeviceArena.Chunk chunk, long offset, long bytes, long length)
    {
        _arena = arena;
        _chunk = chunk;
        _offset = offset;
        _bytes = bytes;
        ArrayView<byte> chunkView = chunk.Buffer.View;
        View = chunkView.SubView(offset, bytes).Cast<T>().SubView(0, length);
    }

    public ArrayView<T> View { get; }

    public long Length => View.Length;

    /// <summary>Bytes taken from the arena, alignment padding included.</summary>
    public long Bytes => _bytes;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _arena.Free(_chunk, _offset, _bytes);
    }
}
