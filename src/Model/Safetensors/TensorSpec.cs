using Dromedary.Kernels;

namespace Dromedary.Model.Safetensors;

/// <summary>A tensor that SafetensorsWriter will write: its layout is fixed up front so the header goes first.</summary>
public sealed record TensorSpec(string Name, ScalarType Type, long[] Shape);
