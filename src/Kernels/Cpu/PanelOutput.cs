using System.Runtime.Intrinsics;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// Writes one row of a 16-column output panel. Weights are padded to whole panels, so the last panel of a
/// layer may hold fewer real columns; those go through a stack copy instead of past the row's end.
/// </summary>
internal static unsafe class PanelOutput
{
    public const int Width = 16;

    public static void Store(float* target, Vector256<float> low, Vector256<float> high, int cols)
    {
        if (cols == Width)
        {
            low.Store(target);
            high.Store(target + 8);
            return;
        }
        var panel = stackalloc float[Width];
        low.Store(panel);
        high.Store(panel + 8);
        new ReadOnlySpan<float>(panel, cols).CopyTo(new Span<float>(target, cols));
    }

    public static void Store(float* target, Vector512<float> values, int cols)
    {
        if (cols == Width)
        {
            values.Store(target);
            return;
        }
        var panel = stackalloc float[Width];
        values.Store(panel);
        new ReadOnlySpan<float>(panel, cols).CopyTo(new Span<float>(target, cols));
    }
}
