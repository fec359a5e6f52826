using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// Page-locked host memory that weights pass through on their way to the device. The driver copies from it by DMA
/// straight away (from pageable memory it first copies into a bounce buffer of its own), and with two halves the
/// CPU packs the next chunk while the previous one is in flight. One per kernel set, made on the first upload.
/// </summary>
public sealed class HostStaging : IDisposable
{
    /// <summary>Bytes per half: large enough for full-speed copies, small enough to pin without notice.</summary>
    public const int HalfBytes = 8 << 20;

    private readonly AcceleratorStream _stream;
    private readonly PageLockedArray1D<byte> _buffer;
    private int _next;
    private bool _inFlight;

    public HostStaging(Accelerator accelerator)
    {
        _stream = accelerator.DefaultStream;
        _buffer = accelerator.AllocatePageLocked1D<byte>(2L * HalfBytes, true);
    }

    /// <summary>The half to fill next (<see cref="HalfBytes"/> long), once the copy that last read it has finished.</summary>
    public Span<byte> Claim()
    {
        // One stream: waiting for it also waits for the other half, which is then free too.
        if (_inFlight && _next == 0) Finish();
        return _buffer.Span.Slice(_next * HalfBytes, HalfBytes);
    }

    /// <summary>Queues the copy of the claimed half's first target.Length bytes into <paramref name="target"/>.</summary>
    public void Send(ArrayView<byte> target)
    {
        if (target.Length > HalfBytes) throw new ArgumentOutOfRangeException(nameof(target), target.Length, $"at most {HalfBytes} bytes per send");
        target.CopyFrom(_stream, _buffer.ArrayView.SubView((long)_next * HalfBytes, target.Length));
        _inFlight = true;
        _next ^= 1;
    }

    /// <summary>Waits until every queued copy has landed.</summary>
    public void Finish()
    {
        _stream.Synchronize();
        _inFlight = false;
    }

    /// <summary>Copies <paramref name="source"/> into the start of <paramref name="target"/>, chunk by chunk, and waits for it.</summary>
    public void Upload<T>(ReadOnlySpan<T> source, ArrayView<T> target) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(source);
        if (bytes.Length > target.LengthInBytes) throw new ArgumentException($"{source.Length} values do not fit a view of {target.Length}", nameof(source));
        var view = target.Cast<byte>();
        for (var offset = 0; offset < bytes.Length; offset += HalfBytes)
        {
            var count = Math.Min(HalfBytes, bytes.Length - offset);
            bytes.Slice(offset, count).CopyTo(Claim());
            Send(view.SubView(offset, count));
        }
        Finish();
    }

    public void Dispose() => _buffer.Dispose();
}
