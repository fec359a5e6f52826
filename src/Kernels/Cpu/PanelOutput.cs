using System.Runtime.Intrinsics;

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

    /// <summary>Like <see cref="Copy"/>, but adds the tile to y; plain vectors, as a library call per 16 floats costs more than the add.</summary>
    public static void Add(float* tile, int rows, int cols, float* y, int yStride)
    {
        for (var r = 0; r < rows; r++)
        {
            var source = tile + r * Width;
            var target = y + (long)r * yStride;
            var c = 0;
            for (; c + 8 <= cols; c += 8) (Vector256.Load(source + c) + Vector256.Load(target + c)).Store(target + c);
            for (; c < cols; c++) target[c] += source[c];
        }
    }
}
