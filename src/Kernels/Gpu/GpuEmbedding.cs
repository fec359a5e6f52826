using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>Looks up token rows in an embedding table kept in its stored type, widening to fp32 as it copies.</summary>
public sealed class GpuEmbedding
{
    private readonly Accelerator _accelerator;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<ushort>, int, ArrayView<int>, ArrayView<float>, int, int> _forward;

    public GpuEmbedding(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _forward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<ushort>, int, ArrayView<int>, ArrayView<float>, int, int>(ForwardKernel);
    }

    /// <param name="table">[vocabulary, cols] elements of <paramref name="type"/> (F32, F16 or BF16), as bytes.</param>
    /// <param name="ids">token ids, already checked to lie in the vocabulary.</param>
    /// <param name="output">[ids.Length, cols].</param>
    public void Forward(ArrayView<byte> table, ScalarType type, int cols, ArrayView<int> ids, ArrayView<float> output)
    {
        var count = (int)ids.Length;
        _forward(GpuGroup.LaunchPerElement(_accelerator, (long)count * cols),
            table.Cast<float>(), table.Cast<ushort>(), (int)type, ids, output, count, cols);
    }

    /// <summary>
    /// One thread per output element. The table comes as two views of the same bytes and the stored type picks
    /// one; the branch is the same for every thread, so it costs nothing. F16 widens through ILGPU's half (PTX
    /// cvt.f32.f16), BF16 by a 16-bit shift; both are exact.
    /// </summary>
    public static void ForwardKernel(ArrayView<float> f32, ArrayView<ushort> halves, int type, ArrayView<int> ids,
        ArrayView<float> output, int count, int cols)
    {
        var total = (long)count * cols;
        for (var i = GpuGroup.GlobalIndex; i < total; i += GpuGroup.GlobalStride)
        {
            var token = i / cols;
            var source = (long)ids[token] * cols + (i - token * cols);
            if (type == (int)ScalarType.F32) output[i] = f32[source];
            else if (type == (int)ScalarType.F16) output[i] = (float)Interop.IntAsFloat(halves[source]);
            else output[i] = Interop.IntAsFloat((uint)halves[source] << 16);
        }
    }
}
