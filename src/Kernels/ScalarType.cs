namespace Dromedary.Kernels;

/// <summary>Element types the engine stores: weights in files and in memory.</summary>
public enum ScalarType
{
    F32,
    F16,
    BF16,
    I8,
}

public static class ScalarTypeInfo
{
    public static int SizeOf(this ScalarType type) => type switch
    {
        ScalarType.F32 => 4,
        ScalarType.F16 or ScalarType.BF16 => 2,
        ScalarType.I8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
