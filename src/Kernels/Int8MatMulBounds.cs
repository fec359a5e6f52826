namespace Dromedary.Kernels;

/// <summary>
/// The largest int8-weight matmul a run makes: rows per call and the widest input (columns). A set that quantizes
/// activations into device scratch sizes it once for these bounds, from its planned memory.
/// </summary>
public readonly record struct Int8MatMulBounds(int Rows, int Cols);
