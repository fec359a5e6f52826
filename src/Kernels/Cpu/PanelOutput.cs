namespace Dromedary.Kernels.Cpu;

/// <summary>
/// Kernels write a whole register tile (rows × 16 columns) to a small stack buffer, then this copies the part
/// that exists into y. Storing to the buffer instead of calling out while accumulators are live keeps the JIT
/// from spilling them inside the hot loop, and the padding rows and columns of a tile never reach y.
/// </summary>
internal static unsafe class PanelOutput
{
    public const int Width = 16;

    public static void Copy(float* tile, int rows, int cols, float* y, int yStride)
    {
        for (var r = 0; r < rows; r++)
            new ReadOnlySpan<float>(tile + r * Width, cols).CopyTo(new Span<float>(y + (long)r * yStride, cols));
    }
}
