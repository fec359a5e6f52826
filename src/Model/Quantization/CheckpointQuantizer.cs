using System.Runtime.InteropServices;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Safetensors;

namespace Dromedary.Model.Quantization;

/// <summary>
/// Writes an int8 copy of a Hugging Face LLaMA folder: linear weights become int8 + fp32 scales, everything else
/// is copied as it is. Works one tensor at a time and one output file per input file, so a 130 GB model needs
/// memory for its largest tensor only; a later load reads the int8 weights without quantizing again.
/// </summary>
public static class CheckpointQuantizer
{
    /// <param name="groupSize">0 for one scale per output row, else input columns per scale.</param>
    /// <param name="progress">Receives (tensors done, total).</param>
    public static void Run(string input, string output, int groupSize, IProgress<(int Done, int Total)>? progress = null)
    {
        if (groupSize < 0) throw new DromedaryException($"--group must be 0 (per row) or positive, not {groupSize}.");
        LlamaConfig.Load(input);
        using var checkpoint = Checkpoint.Open(input);
        if (checkpoint.Tensors.Any(t => t.Type == ScalarType.I8))
            throw new DromedaryException($"{input}: already holds int8 tensors; quantize the original checkpoint instead.");
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            [Int8Format.SchemeKey] = Int8Format.Scheme,
            [Int8Format.GroupSizeKey] = Int8Format.GroupSizeText(groupSize),
        };
        using var scratch = new QuantizeScratch();
        CheckpointRewriter.Run(checkpoint, output, metadata, tensor => OutputSpecs(tensor, groupSize), (writer, tensor) =>
        {
            if (IsQuantized(tensor)) WriteQuantized(writer, checkpoint, tensor, groupSize, scratch);
            else writer.Write(tensor.Name, checkpoint.Span(tensor));
        }, progress);
    }

    private static bool IsQuantized(TensorInfo tensor) => TensorNames.IsLinear(tensor.Name) && tensor.Shape.Length == 2;

    private static IEnumerable<TensorSpec> OutputSpecs(TensorInfo tensor, int groupSize)
    {
        if (!IsQuantized(tensor))
        {
            yield return new TensorSpec(tensor.Name, tensor.Type, tensor.Shape);
            yield break;
        }
        var (rows, cols) = (tensor.Shape[0], tensor.Shape[1]);
        var group = Int8Format.EffectiveGroupSize(groupSize, checked((int)cols));
        yield return new TensorSpec(tensor.Name, ScalarType.I8, tensor.Shape);
        yield return new TensorSpec(Int8Format.ScaleName(tensor.Name), ScalarType.F32, [rows, (cols + group - 1) / group]);
    }

    private static void WriteQuantized(SafetensorsWriter writer, Checkpoint checkpoint, TensorInfo tensor, int groupSize, QuantizeScratch scratch)
    {
        int rows = checked((int)tensor.Shape[0]), cols = checked((int)tensor.Shape[1]);
        var group = Int8Format.EffectiveGroupSize(groupSize, cols);
        var count = (long)rows * cols;
        var values = scratch.Floats(count);
        ScalarConvert.ToFloat(checkpoint.Span(tensor), tensor.Type, values);
        var quantized = scratch.Quantized(count);
        var scales = scratch.Scales((long)rows * ((cols + group - 1) / group));
        Int8Quantizer.Quantize(values, rows, cols, group, quantized, scales);
        writer.Write(tensor.Name, MemoryMarshal.AsBytes(quantized));
        writer.Write(Int8Format.ScaleName(tensor.Name), MemoryMarshal.AsBytes(scales));
    }

    /// <summary>Buffers reused across tensors, grown only for a larger one.</summary>
    private sealed class QuantizeScratch : IDisposable
    {
        private readonly ScratchBuffer<float> _floats = new(), _scales = new();
        private readonly ScratchBuffer<sbyte> _quantized = new();

        public Span<float> Floats(long n) => _floats.Take(n);
        public Span<float> Scales(long n) => _scales.Take(n);
        public Span<sbyte> Quantized(long n) => _quantized.Take(n);

        public void Dispose()
        {
            _floats.Dispose();
            _scales.Dispose();
            _quantized.Dispose();
        }
    }
}
