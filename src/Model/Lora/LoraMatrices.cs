using System.Numerics.Tensors;

namespace Dromedary.Model.Lora;

/// <summary>
/// The adapter of one projection in PEFT's layout: A = lora_A.weight [Rank, In] and B = lora_B.weight [Out, Rank],
/// row-major fp32, so the projection's update is ΔW = Scaling·B·A [Out, In].
/// </summary>
public sealed class LoraMatrices
{
    public LoraMatrices(int layer, LoraTarget target, int rank, int inFeatures, int outFeatures, float scaling)
    {
        (Layer, Target, Rank, In, Out, Scaling) = (layer, target, rank, inFeatures, outFeatures, scaling);
        A = new float[(long)rank * inFeatures];
        B = new float[(long)outFeatures * rank];
    }

    public int Layer { get; }
    public LoraTarget Target { get; }
    public int Rank { get; }
    public int In { get; }
    public int Out { get; }
    public float Scaling { get; }

    /// <summary>lora_A.weight [Rank, In].</summary>
    public float[] A { get; }

    /// <summary>lora_B.weight [Out, Rank].</summary>
    public float[] B { get; }

    /// <summary>PEFT's tensor name of A (<paramref name="matrix"/> 'A') or B ('B').</summary>
    public string TensorName(char matrix) => LoraTensorNames.Name(Layer, Target, matrix);

    /// <summary>weight [Out, In] += Scaling·B·A, one output row at a time (a row of ΔW is Σ_r (s·B[o, r])·A[r, :]).</summary>
    public void AddTo(Span<float> weight)
    {
        if (weight.Length != (long)Out * In) throw new ArgumentException($"weight must hold {Out}×{In} values", nameof(weight));
        for (var o = 0; o < Out; o++)
        {
            var row = weight.Slice(o * In, In);
            for (var r = 0; r < Rank; r++)
                TensorPrimitives.MultiplyAdd(A.AsSpan(r * In, In), Scaling * B[o * Rank + r], row, row);
        }
    }
}
