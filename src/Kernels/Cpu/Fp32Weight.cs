namespace Dromedary.Kernels.Cpu;

/// <summary>
/// An fp32 linear weight [Rows = out, Cols = in] packed for <see cref="Fp32MatMul"/>: output columns in panels
/// of <see cref="PanelWidth"/>, and within a panel, for each input column the 16 rows' values side by side, so
/// the kernel multiplies one broadcast activation by one contiguous vector. Rows are zero-padded to whole panels.
/// </summary>
public sealed unsafe class Fp32Weight : LinearWeight
{
    public const int PanelWidth = PanelOutput.Width;

    private readonly NativeBuffer<float> _packed;

    private Fp32Weight(int rows, int cols) : base(rows, cols)
    {
        Panels = (rows + PanelWidth - 1) / PanelWidth;
        _packed = new NativeBuffer<float>((long)Panels * cols * PanelWidth);
    }

    public int Panels { get; }
    public override long Bytes => _packed.Length * sizeof(float);

    /// <summary>What <see cref="Create"/> allocates for these dimensions, for memory plans.</summary>
    public static long BytesFor(int rows, int cols) => (long)(rows + PanelWidth - 1) / PanelWidth * PanelWidth * cols * sizeof(float);

    /// <summary>[Panels][Cols][16].</summary>
    internal float* Packed => _packed.Pointer;

    public static Fp32Weight Create(in LinearSource source)
    {
        if (source.IsQuantized)
            throw new ArgumentException("an fp32 weight needs fp32 values (Int8Quantizer.Dequantize converts int8 ones)", nameof(source));
        var weight = new Fp32Weight(source.Rows, source.Cols);
        // Panel by panel so the packed values are written sequentially.
        var values = source.Values;
        for (var panel = 0; panel < weight.Panels; panel++)
        {
            var lanes = Math.Min(PanelWidth, weight.Rows - panel * PanelWidth);
            var rows = values.Slice(panel * PanelWidth * weight.Cols, lanes * weight.Cols);
            var target = weight.Packed + (long)panel * weight.Cols * PanelWidth;
            for (var k = 0; k < weight.Cols; k++, target += PanelWidth)
            {
                for (var lane = 0; lane < lanes; lane++) target[lane] = rows[lane * weight.Cols + k];
            }
        }
        return weight;
    }

    public override void Dispose() => _packed.Dispose();
}
