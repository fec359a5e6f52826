using Dromedary.Kernels;

namespace Dromedary.Model.Safetensors;

/// <summary>The dtype names of the safetensors format and which of them the engine loads.</summary>
internal static class SafetensorsDType
{
    public const string SupportedList = "F32, F16, BF16, I8";

    // Valid safetensors dtypes the engine has no kernels for; named so the error can say "not supported"
    // rather than "not a dtype".
    private static readonly HashSet<string> Unsupported =
        ["F64", "I64", "I32", "I16", "U64", "U32", "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2"];

    public static ScalarType? Parse(string name) => name switch
    {
        "F32" => ScalarType.F32,
        "F16" => ScalarType.F16,
        "BF16" => ScalarType.BF16,
        "I8" => ScalarType.I8,
        _ => null,
    };

    public static bool IsKnownUnsupported(string name) => Unsupported.Contains(name);

    public static string Name(ScalarType type) => type switch
    {
        ScalarType.F32 => "F32",
        ScalarType.F16 => "F16",
        ScalarType.BF16 => "BF16",
        ScalarType.I8 => "I8",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
