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

    public void Run(float* dY, int rows, TWeight w, float* dX)
    {
        _weight = w;
        try
        {
            Run(dY, w.Rows, 1, rows, w.Cols, w.Rows, dX, accumulate: false);
        }
        finally
        {
            _weight = null;
        }
    }
}
