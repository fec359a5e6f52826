using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// A device buffer of int indices (token ids, positions) with a host copy of what it holds. An upload of the
/// same values is skipped: the forward pass rotates queries and keys of every layer at the same positions, and
/// each real upload waits for the device to finish its queue.
/// </summary>
internal sealed class DeviceIndices(DeviceArena arena) : IDisposable
{
    private DeviceBuffer<int> _buffer = arena.Allocate<int>(0);
    private int[] _held = [];
    private int _count;

    /// <summary>Grows the buffer to hold <paramref name="capacity"/> indices; called when activations are allocated.</summary>
    public void Reserve(int capacity)
    {
        if (capacity <= _held.Length) return;
        var grown = arena.Allocate<int>(capacity);
        _buffer.Dispose();
        _buffer = grown;
        _held = new int[capacity];
        _count = 0;
    }

    public ArrayView<int> Upload(ReadOnlySpan<int> values)
    {
        if (values.Length > _held.Length)
            throw new ArgumentException($"{values.Length} indices exceed the {_held.Length} rows of the largest activation allocated");
        if (!values.SequenceEqual(_held.AsSpan(0, _count)))
        {
            _buffer.View.SubView(0, values.Length).CopyFromCPU(values);
            values.CopyTo(_held);
            _count = values.Length;
        }
        return _buffer.View.SubView(0, values.Length);
    }

    public void Dispose() => _buffer.Dispose();
}
