namespace Dromedary.Kernels;

/// <summary>
/// Native scratch memory reused call after call: it grows only when a larger size is first asked for, so a
/// loop over tensors or tokens allocates nothing in steady state.
/// </summary>
public sealed unsafe class ScratchBuffer<T> : IDisposable where T : unmanaged
{
    private NativeBuffer<T> _buffer = new(0);

    /// <summary>Makes room for at least <paramref name="length"/> elements (zeroed when newly grown).</summary>
    public void Reserve(long length)
    {
        if (_buffer.Length >= length) return;
        _buffer.Dispose();
        _buffer = new NativeBuffer<T>(length);
    }

    /// <summary>The start of the reserved memory.</summary>
    public T* Pointer => _buffer.Pointer;

    /// <summary>The first <paramref name="length"/> elements, growing first if needed.</summary>
    public Span<T> Take(long length)
    {
        Reserve(length);
        return _buffer.Slice(0, checked((int)length));
    }

    public void Dispose() => _buffer.Dispose();
}
