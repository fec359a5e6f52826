using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// An int8 linear weight [Rows = out, Cols = in] in device memory, in the layout <see cref="GpuInt8MatMul"/> reads:
/// the int8 values row-major [PaddedRows, PaddedCols], four to an int, input columns zero-padded to a multiple of
/// 128 (one activation block: 16-byte loads never straddle rows, and tiles never need a K bound check) and rows
/// to a multiple of 64 (one GEMM tile: no N bound check on loads). This is also the layout tensor cores want for
/// B in <c>mma .row.col</c> (N×K row-major). Scales are fp32 [PaddedRows, Groups] as in the checkpoint, 0 for
/// padding rows.
/// </summary>
public sealed class GpuInt8Weight : LinearWeight
{
    /// <summary>Weight rows per GEMM tile; rows are padded to a multiple of it.</summary>
    public const int RowAlignment = 64;

    private readonly DeviceBuffer<int> _values;
    private readonly DeviceBuffer<float> _scales;

    private GpuInt8Weight(DeviceArena arena, int rows, int cols, int groupSize) : base(rows, cols)
    {
        PaddedRows = (rows + RowAlignment - 1) / RowAlignment * RowAlignment;
        PaddedCols = (cols + GpuInt8Math.Block - 1) / GpuInt8Math.Block * GpuInt8Math.Block;
        Blocks = PaddedCols / GpuInt8Math.Block;
        Groups = (cols + groupSize - 1) / groupSize;
        BlocksPerGroup = groupSize == cols ? Blocks : groupSize / GpuInt8Math.Block;
        _values = arena.Allocate<int>((long)PaddedRows * PaddedCols / 4);
        _scales = arena.Allocate<float>((long)PaddedRows * Groups);
    }

    public int PaddedRows { get; }
    public int PaddedCols { get; }
    public int Blocks { get; }
    public int Groups { get; }

    /// <summary>Consecutive 128-column blocks that share one weight scale (all of them with one scale per row).</summary>
    public int BlocksPerGroup { get; }

    public override long Bytes => _values.Bytes + _scales.Bytes;

    /// <summary>[PaddedRows, PaddedCols / 4]: four int8 values per int.</summary>
    internal ArrayView<int> Values => _values.View;

    /// <summary>[PaddedRows, Groups].</summary>
    internal ArrayView<float> Scales => _scales.View;

    /// <summary>What <see cref="Create"/> allocates for these dimensions, for memory plans.</summary>
    public static long BytesFor(int rows, int cols, int groupSize)
    {
        long paddedRows = (rows + RowAlignment - 1) / RowAlignment * RowAlignment;
        long paddedCols = (cols + GpuInt8Math.Block - 1) / GpuInt8Math.Block * GpuInt8Math.Block;
        return DeviceArena.RoundUp(paddedRows * paddedCols) + DeviceArena.RoundUp(paddedRows * ((cols + groupSize - 1) / groupSize) * sizeof(float));
    }

    public static GpuInt8Weight Create(DeviceArena arena, HostStaging staging, in LinearSource source)
    {
        if (!source.IsQuantized) throw new ArgumentException("an int8 weight needs a quantized source", nameof(source));
        int rows = source.Rows, cols = source.Cols, groupSize = source.GroupSize;
        if (groupSize != cols && groupSize % GpuInt8Math.Block != 0)
        {
            throw new ArgumentException($"int8 group size {groupSize} must equal cols ({cols}) or be a multiple of " +
                $"{GpuInt8Math.Block}: activations are quantized in blocks of {GpuInt8Math.Block} columns, and each " +
                "block's integer dot product is scaled by a single weight scale", nameof(source));
        }
        var weight = new GpuInt8Weight(arena, rows, cols, groupSize);
        try
        {
            weight.Upload(staging, source.Quantized, source.Scales);
        }
        catch
        {
            weight.Dispose();
            throw;
        }
        return weight;
    }

    private void Upload(HostStaging staging, ReadOnlySpan<sbyte> quantized, ReadOnlySpan<float> scales)
    {
        // Padding must be zeros: the kernels multiply it. Rows are packed into the staging half with their padding.
        _values.View.MemSetToZero();
        _scales.View.MemSetToZero();
        var values = _values.View.Cast<byte>();
        var rowsPerSend = HostStaging.HalfBytes / PaddedCols;
        for (var first = 0; first < Rows; first += rowsPerSend)
        {
            var count = Math.Min(rowsPerSend, Rows - first);
            var half = staging.Claim()[..(count * PaddedCols)];
            half.Clear();
            for (var r = 0; r < count; r++)
                MemoryMarshal.AsBytes(quantized.Slice((first + r) * Cols, Cols)).CopyTo(half.Slice(r * PaddedCols));
            staging.Send(values.SubView((long)first * PaddedCols, (long)count * PaddedCols));
        }
        staging.Upload(scales, _scales.View);
    }

    public override void Dispose()
    {
        _values.Dispose();
        _scales.Dispose();
    }
}
