using System.Runtime.InteropServices;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Safetensors;

namespace Dromedary.Bench;

/// <summary>
/// F16 weights of any LLaMA shape made up on the fly, for timing shapes whose weights nobody has at hand (a
/// stack of LLaMA-65B layers on a GPU): a small random pattern tiled over each tensor, norms all ones. Values
/// only need to be finite and varied; speed does not depend on them.
/// </summary>
internal sealed class GeneratedWeights : ITensorSource
{
    private readonly Dictionary<string, TensorInfo> _tensors;
    private readonly Half[] _pattern;
    private Half[] _buffer = [];

    public GeneratedWeights(LlamaConfig config)
    {
        _tensors = RandomCheckpoint.Shapes(config).ToDictionary(t => t.Name, t =>
            new TensorInfo(t.Name, ScalarType.F16, t.Shape, 0, t.Shape.Aggregate(2L, (a, b) => a * b), Origin));
        var random = new Random(5);
        _pattern = Enumerable.Range(0, 65521).Select(_ => (Half)((random.NextDouble() * 2 - 1) * 0.02)).ToArray();
    }

    public string Origin => "generated weights";

    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    public TensorInfo Get(string name) =>
        _tensors.TryGetValue(name, out var tensor) ? tensor : throw new DromedaryException($"{Origin}: no tensor '{name}'.");

    public ReadOnlySpan<byte> Span(TensorInfo tensor)
    {
        var count = checked((int)(tensor.ByteLength / 2));
        if (_buffer.Length < count) _buffer = new Half[count];
        var values = _buffer.AsSpan(0, count);
        if (tensor.Name.EndsWith("norm.weight", StringComparison.Ordinal)) values.Fill(Half.One);
        else
            for (var at = 0; at < count; at += _pattern.Length)
                _pattern.AsSpan(0, Math.Min(_pattern.Length, count - at)).CopyTo(values[at..]);
        return MemoryMarshal.AsBytes(values);
    }

    public void Release(TensorInfo tensor) { }
}
