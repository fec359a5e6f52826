namespace Dromedary.Kernels.Cpu;

/// <summary>
/// A frozen linear weight as the right operand of dX = dY · W (the input gradient): subclasses say how a panel
/// of W's columns is read out of the weight's own packed layout.
/// </summary>
internal abstract unsafe class WeightPanels<TWeight>(WorkerPool pool, bool useVector512) : PanelGemm(pool, useVector512)
    where TWeight : LinearWeight
{
    private TWeight? _weight;

    /// <summary>The weight of the call in progress.</summary>
    protected TWeight Weight => _weight!;

    /// <summary>dX[rows, w.Cols] = dY[rows, w.Rows] · W.</summary>
    public void Run(ReadOnlySpan<float> dY, int rows, TWeight w, Span<float> dX)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (dY.Length < (long)rows * w.Rows) throw new ArgumentException($"dY needs {rows}×{w.Rows} values, has {dY.Length}");
        if (dX.Length < (long)rows * w.Cols) throw new ArgumentException($"dX needs {rows}×{w.Cols} values, has {dX.Length}");
        _weight = w;
        try
        {
            fixed (float* dy = dY, dx = dX) Run(dy, w.Rows, 1, rows, w.Cols, w.Rows, dx, accumulate: false);
        }
        finally
        {
            _weight = null;
        }
    }
}
