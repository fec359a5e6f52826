namespace Dromedary.Model.Llama;

/// <summary>How base weights are held: fp32 (exact, 4 bytes a weight) or int8 with fp32 scales (the default).</summary>
public enum Precision
{
    Int8,
    Fp32,
}
