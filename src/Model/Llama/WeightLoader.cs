using System.Runtime.InteropServices;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Lora;
using Dromedary.Model.Quantization;
using Dromedary.Model.Safetensors;

namespace Dromedary.Model.Llama;

/// <summary>
/// Moves tensors from a checkpoint into a kernel set one at a time, converting or quantizing on the way, so
/// peak host memory stays near the largest tensor whatever the model's size (each tensor's mapped pages
/// are released once it has been copied). Checks every shape against the
/// config and names the tensor when one is wrong.
/// </summary>
internal sealed class WeightLoader : IDisposable
{
    private readonly ITensorSource _checkpoint;
    private readonly IKernelSet _kernels;
    private readonly Precision _precision;
    private readonly int _groupSize;
    private readonly string _configDescription;
    private readonly Lazy<int> _storedGroupSize;
    private readonly ScratchBuffer<float> _floats = new(), _scales = new();
    private readonly ScratchBuffer<sbyte> _quantized = new();

    public WeightLoader(ITensorSource checkpoint, IKernelSet kernels, Precision precision, int groupSize, string configDescription)
    {
        _checkpoint = checkpoint;
        _kernels = kernels;
        _precision = precision;
        _groupSize = groupSize;
        _configDescription = configDescription;
        _storedGroupSize = new Lazy<int>(() => Int8Format.ParseGroupSize(checkpoint.Metadata, checkpoint.Origin));
    }

    /// <param name="lora">An adapter to merge: Scaling·B·A is added to the fp32 weight before it is quantized or stored.</param>
    public LinearWeight Linear(string name, int rows, int cols, LoraMatrices? lora = null)
    {
        var info = Expect(name, rows, cols);
        if (info.Type == ScalarType.I8) return StoredInt8(info, rows, cols, lora);
        var values = ReadFloats(info, _floats.Take((long)rows * cols));
        lora?.AddTo(values);
        if (_precision == Precision.Fp32) return _kernels.CreateLinear(LinearSource.Fp32(values, rows, cols));
        return Quantized(values, rows, cols, Int8Format.EffectiveGroupSize(_groupSize, cols));
    }

    private LinearWeight Quantized(ReadOnlySpan<float> values, int rows, int cols, int group)
    {
        var quantized = _quantized.Take((long)rows * cols);
        var scales = _scales.Take((long)rows * GroupCount(cols, group));
        Int8Quantizer.Quantize(values, rows, cols, group, quantized, scales);
        return _kernels.CreateLinear(LinearSource.Int8(quantized, scales, rows, cols, group));
    }

    public VectorWeight Vector(string name, int length)
    {
        var info = Expect(name, length);
        return _kernels.CreateVector(ReadFloats(info, _floats.Take(length)));
    }

    public EmbeddingTable Embedding(string name, int rows, int cols)
    {
        var info = Expect(name, rows, cols);
        if (info.Type == ScalarType.I8)
            throw new DromedaryException($"{info.FilePath}: tensor '{name}' is int8; embeddings must be F32, F16 or BF16.");
        var table = _kernels.CreateEmbedding(_checkpoint.Span(info), info.Type, rows, cols);
        _checkpoint.Release(info);
        return table;
    }

    /// <summary>An int8 tensor as stored; with an adapter, dequantized, merged and quantized again in its group size.</summary>
    private LinearWeight StoredInt8(TensorInfo info, int rows, int cols, LoraMatrices? lora)
    {
        if (_precision == Precision.Fp32)
            throw new DromedaryException($"{info.FilePath}: tensor '{info.Name}' is stored as int8; fp32 precision needs the original fp16/bf16/fp32 checkpoint.");
        var group = Int8Format.EffectiveGroupSize(_storedGroupSize.Value, cols);
        var scaleInfo = Expect(Int8Format.ScaleName(info.Name), rows, GroupCount(cols, group));
        if (scaleInfo.Type != ScalarType.F32)
            throw new DromedaryException($"{scaleInfo.FilePath}: tensor '{scaleInfo.Name}' is {scaleInfo.Type}; int8 scales are F32.");
        var quantized = MemoryMarshal.Cast<byte, sbyte>(_checkpoint.Span(info));
        var scales = MemoryMarshal.Cast<byte, float>(_checkpoint.Span(scaleInfo));
        LinearWeight weight;
        if (lora == null)
        {
            weight = _kernels.CreateLinear(LinearSource.Int8(quantized, scales, rows, cols, group));
        }
        else
        {
            var values = _floats.Take((long)rows * cols);
            Int8Quantizer.Dequantize(quantized, scales, rows, cols, group, values);
            lora.AddTo(values);
            weight = Quantized(values, rows, cols, group);
        }
        _checkpoint.Release(info);
        _checkpoint.Release(scaleInfo);
        return weight;
    }

    private static int GroupCount(int cols, int group) => (cols + group - 1) / group;

    private TensorInfo Expect(string name, params long[] shape)
    {
        var info = _checkpoint.Get(name);
        if (!info.Shape.SequenceEqual(shape))
            throw new DromedaryException(
                $"{info.FilePath}: tensor '{name}' has shape [{string.Join(", ", info.Shape)}] but config.json ({_configDescription}) needs [{string.Join(", ", shape)}].");
        return info;
    }

    private Span<float> ReadFloats(TensorInfo info, Span<float> destination)
    {
        if (info.Type == ScalarType.I8)
            throw new DromedaryException($"{info.FilePath}: tensor '{info.Name}' is int8 where F32, F16 or BF16 is expected.");
        ScalarConvert.ToFloat(_checkpoint.Span(info), info.Type, destination);
        _checkpoint.Release(info);
        return destination;
    }

    public void Dispose()
    {
        _floats.Dispose();
        _quantized.Dispose();
        _scales.Dispose();
    }
}
