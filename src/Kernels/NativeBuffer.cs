using System.Runtime.InteropServices;

namespace Dromedary.Kernels;

/// <summary>
/// A block of unmanaged, 64-byte aligned memory (2 MB pages when large) that the engine owns: weights and activations live here so the
/// GC never moves or scans them and SIMD loads are aligned. Lengths are longs because one weight can pass 2 GB.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    private const int Alignment = 64;
    private T* _pointer;

    public NativeBuffer(long length, bool zero = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        var bytes = (nuint)Math.Max(1, length * sizeof(T));
        var huge = MemoryAdvice.WantsHugePages(bytes);
        _pointer = (T*)NativeMemory.AlignedAlloc(bytes, huge ? MemoryAdvice.HugePageSize : Alignment);
        if (huge) MemoryAdvice.UseHugePages(_pointer, bytes);
        if (zero) NativeMemory.Clear(_pointer, bytes);
    }

    public long Length { get; }

    public T* Pointer => _pointer != null ? _pointer : throw new ObjectDisposedException(nameof(NativeBuffer<T>));

    /// <summary>The whole buffer as a span; only for buffers under 2^31 elements.</summary>
    public Span<T> Span => new(Pointer, checked((int)Length));

    public Span<T> Slice(long start, int length)
    {
        if (start < 0 || length < 0 || start + length > Length) throw new ArgumentOutOfRangeException(nameof(start));
        return new Span<T>(Pointer + start, length);
    }

    public void Dispose()
    {
        if (_pointer == null) return;
        NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}
