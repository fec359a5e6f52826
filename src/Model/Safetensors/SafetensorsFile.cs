using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.IO.MemoryMappedFiles;

namespace Dromedary.Model.Safetensors;

/// <summary>
/// A safetensors file mapped read-only into memory: tensors are read in place, never copied, so a 130 GB model
/// costs page cache rather than heap. The header is fully validated on open.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private const int PrefixBytes = 8;
    // The reference implementation's limit: real headers are well under 1 MB, so more means a corrupt file.
    private const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Dictionary<string, TensorInfo> _byName;
    private byte* _base;

    private SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer, long length)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePointer;
        var header = ReadHeader(path, basePointer, length);
        var dataStart = PrefixBytes + header.Length;
        (Metadata, var tensors) = SafetensorsHeader.Parse(path, header, dataStart, length - dataStart);
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>All tensors in the order their data lies in the file.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    public static SafetensorsFile Open(string path)
    {
        var stream = OpenStream(path);
        var length = stream.Length;
        if (length < PrefixBytes)
        {
            stream.Dispose();
            throw new DromedaryException($"{path}: the file is {length} bytes, too short for a safetensors header; it is truncated or not a safetensors file.");
        }

        var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        MemoryMappedViewAccessor? view = null;
        var acquired = false;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            acquired = true;
            return new SafetensorsFile(path, map, view, pointer + view.PointerOffset, length);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    public bool TryGet(string name, [MaybeNullWhen(false)] out TensorInfo tensor) =>
        _byName.TryGetValue(name, out tensor);

    /// <summary>Start of the tensor's bytes in the mapping; valid until Dispose.</summary>
    public byte* Pointer(TensorInfo tensor)
    {
        if (_base == null) throw new ObjectDisposedException(nameof(SafetensorsFile), $"{Path} is closed.");
        if (!_byName.TryGetValue(tensor.Name, out var own) || own != tensor)
            throw new ArgumentException($"Tensor '{tensor.Name}' is not one of {Path}.", nameof(tensor));
        return _base + tensor.DataOffset;
    }

    /// <summary>Tells the OS this process is done with the tensor's pages (they stay cached, not resident here).</summary>
    public void Release(TensorInfo tensor) => Dromedary.Kernels.MemoryAdvice.ReleaseMappedRange(Pointer(tensor), tensor.ByteLength);

    /// <summary>The tensor's bytes; for tensors of 2 GB and more, which a span cannot hold, use Pointer.</summary>
    public ReadOnlySpan<byte> Span(TensorInfo tensor)
    {
        var pointer = Pointer(tensor);
        if (tensor.ByteLength > int.MaxValue)
            throw new InvalidOperationException($"{Path}: tensor '{tensor.Name}' is {tensor.ByteLength} bytes, more than a span can hold; read it through Pointer.");
        return new ReadOnlySpan<byte>(pointer, (int)tensor.ByteLength);
    }

    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    private static FileStream OpenStream(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DromedaryException($"{path}: no such file.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DromedaryException($"{path}: cannot open the file: {ex.Message}", ex);
        }
    }

    /// <summary>The header's JSON bytes, after checking its declared length against the file.</summary>
    private static byte[] ReadHeader(string path, byte* file, long length)
    {
        var declared = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(file, PrefixBytes));
        if (declared > MaxHeaderBytes)
            throw new DromedaryException($"{path}: the header length {declared} is over the {MaxHeaderBytes} byte limit; the file is corrupt or not a safetensors file.");
        if ((long)declared > length - PrefixBytes)
            throw new DromedaryException($"{path}: the header length {declared} is more than the {length - PrefixBytes} bytes after it; the file is truncated or not a safetensors file.");
        return new ReadOnlySpan<byte>(file + PrefixBytes, (int)declared).ToArray();
    }
}
