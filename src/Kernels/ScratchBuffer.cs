namespace Dromedary.Kernels;

/// <summary>
/// Native scratch memory reused call after call: it grows only when a larger size is first asked for, so a
/// loop over tensors or tokens allocates nothing in steady state.
/// </summary>
public sealed class ScratchBuffer<T> : IDisposable where T : unmanaged
{
    private NativeBuffer<T> _buffer = new(0);

    /// <summary>The first <paramref name="length"/> elements; contents are undefined.</summary>
    public Span<T> Take(long length)
    {
        if (_buffer.Length < length)
        {
            _buffer.Dispose();
            _buffer = new NativeBuffer<T>(length, zero: false);
        }
        return _buffer.Slice(0, checked((int)length));
    }

    public void Dispose() => _buffer.Dispose();
}
