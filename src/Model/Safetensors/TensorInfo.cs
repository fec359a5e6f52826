using Dromedary.Kernels;

namespace Dromedary.Model.Safetensors;

/// <summary>
/// One tensor of a safetensors file. DataOffset is absolute in FilePath, so a reader needs no header arithmetic;
/// offsets and lengths are longs because a single weight can pass 2 GB.
/// </summary>
public sealed record TensorInfo(string Name, ScalarType Type, long[] Shape, long DataOffset, long ByteLength, string FilePath)
{
    public long ElementCount => ShapeMath.ElementCount(Shape);
}
