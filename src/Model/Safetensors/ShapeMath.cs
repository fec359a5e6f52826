using Dromedary.Kernels;

namespace Dromedary.Model.Safetensors;

/// <summary>Overflow-safe sizes of shapes, since a hostile header may declare dimensions near 2^63.</summary>
internal static class ShapeMath
{
    /// <summary>Bytes of a shape with no negative dimension; false when the size passes long.MaxValue.</summary>
    public static bool TryByteLength(long[] shape, ScalarType type, out long bytes)
    {
        bytes = 0;
        // A zero dimension empties the tensor however large the others are.
        if (Array.IndexOf(shape, 0L) >= 0) return true;
        long size = type.SizeOf();
        foreach (var dim in shape)
        {
            if (size > long.MaxValue / dim) return false;
            size *= dim;
        }
        bytes = size;
        return true;
    }

    public static long ElementCount(long[] shape)
    {
        long count = 1;
        foreach (var dim in shape) count = checked(count * dim);
        return count;
    }

    public static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
