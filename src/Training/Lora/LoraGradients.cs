using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// Gradient buffers for an adapter's matrices, in the adapter's layout and order: <see cref="A"/>[i] and
/// <see cref="B"/>[i] belong to adapter.Matrices[i]. The training pass adds into them, so micro-batches accumulate
/// until <see cref="Clear"/>.
/// </summary>
public sealed class LoraGradients
{
    public LoraGradients(LoraAdapter adapter)
    {
        A = adapter.Matrices.Select(m => new float[m.A.Length]).ToArray();
        B = adapter.Matrices.Select(m => new float[m.B.Length]).ToArray();
    }

    public IReadOnlyList<float[]> A { get; }
    public IReadOnlyList<float[]> B { get; }

    public void Clear()
    {
        foreach (var gradient in A) Array.Clear(gradient);
        foreach (var gradient in B) Array.Clear(gradient);
    }

    /// <summary>True when these buffers have the shapes of <paramref name="adapter"/>'s matrices.</summary>
    internal bool Fits(LoraAdapter adapter)
    {
        if (A.Count != adapter.Matrices.Count) return false;
        for (var i = 0; i < A.Count; i++)
            if (A[i].Length != adapter.Matrices[i].A.Length || B[i].Length != adapter.Matrices[i].B.Length) return false;
        return true;
    }
}
