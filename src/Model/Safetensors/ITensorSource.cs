namespace Dromedary.Model.Safetensors;

/// <summary>
/// Where a model's tensors come from while loading: a checkpoint on disk, or (for benchmarks of shapes nobody
/// has the weights of) generated values. The loader reads one tensor's bytes, copies them, then releases it.
/// </summary>
public interface ITensorSource
{
    /// <summary>The tensor's description; throws a DromedaryException naming it when it is missing.</summary>
    TensorInfo Get(string name);

    /// <summary>The tensor's bytes, valid until it is released.</summary>
    ReadOnlySpan<byte> Span(TensorInfo tensor);

    /// <summary>The loader is done with this tensor.</summary>
    void Release(TensorInfo tensor);

    /// <summary>File-level metadata (the int8 scheme of a quantized checkpoint).</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Where the tensors come from, for messages.</summary>
    string Origin { get; }
}
