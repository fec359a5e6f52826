using System.Runtime.CompilerServices;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// An int8 linear weight [Rows = out, Cols = in] in the layout <see cref="Int8MatMul"/> reads. Output columns
/// are packed in panels of <see cref="PanelWidth"/>: for each group of 4 input columns, the 4 bytes of each of
/// the panel's 16 rows sit together, so one vpdpbusd multiplies 4 broadcast activation bytes by 8 rows at once
/// and its int32 lanes are finished outputs (no horizontal sums). Input columns are zero-padded to a multiple
/// of <see cref="BlockSize"/> and rows to a multiple of <see cref="PanelWidth"/>.
/// </summary>
public sealed unsafe class Int8Weight : LinearWeight
{
    /// <summary>Input columns per activation quantization block; weight groups must cover whole blocks.</summary>
    public const int BlockSize = 128;

    /// <summary>Output rows per packed panel: two 8-lane int32 accumulators.</summary>
    public const int PanelWidth = 16;

    private readonly NativeBuffer<sbyte> _packed;
    private readonly NativeBuffer<int> _corrections;
    private readonly NativeBuffer<float> _scales;

    private Int8Weight(int rows, int cols, int groupSize) : base(rows, cols)
    {
        GroupSize = groupSize;
        PaddedCols = (cols + BlockSize - 1) / BlockSize * BlockSize;
        Blocks = PaddedCols / BlockSize;
        Groups = Int8Quantizer.GroupCount(cols, groupSize);
        BlocksPerGroup = groupSize == cols ? Blocks : groupSize / BlockSize;
        Panels = (rows + PanelWidth - 1) / PanelWidth;
        _packed = new NativeBuffer<sbyte>((long)Panels * PaddedCols * PanelWidth);
        _corrections = new NativeBuffer<int>((long)Panels * Blocks * PanelWidth);
        _scales = new NativeBuffer<float>((long)Panels * Groups * PanelWidth);
    }

    public int GroupSize { get; }
    public int PaddedCols { get; }
    public int Blocks { get; }
    public int Groups { get; }
    /// <summary>Consecutive blocks that share one weight scale (all of them with one scale per row).</summary>
    public int BlocksPerGroup { get; }
    public int Panels { get; }

    public override long Bytes => _packed.Length + _corrections.Length * sizeof(int) + _scales.Length * sizeof(float);

    /// <summary>What <see cref="Create"/> allocates for these dimensions, for memory plans.</summary>
    public static long BytesFor(int rows, int cols, int groupSize)
    {
        long panels = (rows + PanelWidth - 1) / PanelWidth, blocks = (cols + BlockSize - 1) / BlockSize;
        return panels * PanelWidth * (blocks * BlockSize + blocks * sizeof(int) + Int8Quantizer.GroupCount(cols, groupSize) * sizeof(float));
    }

    /// <summary>[Panels][PaddedCols / 4][16 rows][4 bytes].</summary>
    internal sbyte* Packed => _packed.Pointer;

    /// <summary>
    /// [Panels][Blocks][16]: −128 · (sum of the row's int8 values in the block). vpdpbusd needs unsigned
    /// activations, so they are stored as q + 128; starting each block's accumulator here cancels the offset
    /// exactly in integer arithmetic.
    /// </summary>
    internal int* Corrections => _corrections.Pointer;

    /// <summary>[Panels][Groups][16]: the weight scales, 0 for padding rows.</summary>
    internal float* Scales => _scales.Pointer;

    public static Int8Weight Create(in LinearSource source)
    {
        if (!source.IsQuantized) throw new ArgumentException("an int8 weight needs a quantized source", nameof(source));
        int rows = source.Rows, cols = source.Cols, groupSize = source.GroupSize;
        if (groupSize != cols && groupSize % BlockSize != 0)
        {
            throw new ArgumentException($"int8 group size {groupSize} must equal cols ({cols}) or be a multiple of " +
                $"{BlockSize}: activations are quantized in blocks of {BlockSize} columns, and each block's integer " +
                "dot product is scaled by a single weight scale", nameof(source));
        }
        var weight = new Int8Weight(rows, cols, groupSize);
        weight.Pack(source.Quantized, source.Scales);
        return weight;
    }

    private void Pack(ReadOnlySpan<sbyte> quantized, ReadOnlySpan<float> scales)
    {
        // Panel by panel so the packed bytes are written sequentially; each row is read 4 bytes at a time.
        for (var panel = 0; panel < Panels; panel++)
        {
            var lanes = Math.Min(PanelWidth, Rows - panel * PanelWidth);
            var target = (int*)(Packed + (long)panel * PaddedCols * PanelWidth);
            var source = quantized.Slice(panel * PanelWidth * Cols, lanes * Cols);
            for (var k = 0; k < Cols; k += 4, target += PanelWidth)
            {
                for (var lane = 0; lane < lanes; lane++) target[lane] = Read4(source.Slice(lane * Cols, Cols), k);
            }
            for (var lane = 0; lane < lanes; lane++)
            {
                var row = source.Slice(lane * Cols, Cols);
                var corrections = Corrections + (long)panel * Blocks * PanelWidth + lane;
                for (var b = 0; b < Blocks; b++)
                {
                    var block = row[(b * BlockSize)..Math.Min(Cols, (b + 1) * BlockSize)];
                    var sum = 0;
                    foreach (var value in block) sum += value;
                    corrections[b * PanelWidth] = -128 * sum;
                }
                var rowScales = Scales + (long)panel * Groups * PanelWidth + lane;
                var row0 = panel * PanelWidth + lane;
                for (var g = 0; g < Groups; g++) rowScales[g * PanelWidth] = scales[row0 * Groups + g];
            }
        }
    }

    /// <summary>Bytes k..k+3 of a row as one int, zeros past the row's end.</summary>
    private static int Read4(ReadOnlySpan<sbyte> row, int k)
    {
        if (k + 4 <= row.Length) return Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref Unsafe.AsRef(in row[k])));
        var value = 0;
        for (var i = 0; k + i < Math.Min(row.Length, k + 4); i++) value |= (byte)row[k + i] << (8 * i);
        return value;
    }

    public override void Dispose()
    {
        _packed.Dispose();
        _corrections.Dispose();
        _scales.Dispose();
    }
}
