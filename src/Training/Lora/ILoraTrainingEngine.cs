using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// AdamW's moments for every adapter matrix, in <see cref="LoraAdapter.Matrices"/> order: what a checkpoint saves
/// besides the adapter so a resumed run continues exactly.
/// </summary>
public sealed record AdamWMoments(float[][] FirstA, float[][] SecondA, float[][] FirstB, float[][] SecondB);

/// <summary>
/// What the trainer asks of a kernel set: forward and backward of micro-batches with gradients accumulated on the
/// engine's side, the global gradient norm, and the fused AdamW update. The CPU set and the ILGPU set each
/// implement it; the trainer's loop, checkpoints and metrics are the same for both.
/// </summary>
public interface ILoraTrainingEngine : IDisposable
{
    /// <summary>The adapter being trained, on the host; current whenever <see cref="Step"/> has returned.</summary>
    LoraAdapter Adapter { get; }

    /// <summary>The longest sequence a micro-batch may hold.</summary>
    int MaxTokens { get; }

    /// <summary>
    /// Forward and backward of one micro-batch, its sequences packed into one block of tokens (several blocks when
    /// they hold more tokens than the engine was sized for), adding lossScale·∂(Σ token losses)/∂(A, B) to the accumulated
    /// gradients. Returns lossScale·Σ counted token losses. <paramref name="step"/> and
    /// <paramref name="firstSequence"/> (the index of sequences[0] among the step's examples) key the dropout masks,
    /// so a resumed run draws the same ones and the micro-batch size does not change them.
    /// </summary>
    double ForwardBackward(IReadOnlyList<TrainingSequence> sequences, float lossScale, long step, int firstSequence);

    /// <summary>The L2 norm of all accumulated gradients together.</summary>
    double GradientNorm();

    /// <summary>
    /// AdamW update number <paramref name="step"/> (1 for the first) with the gradients multiplied by
    /// <paramref name="gradientScale"/> (the clipping factor), then clears the gradients.
    /// </summary>
    void Step(double learningRate, float gradientScale, int step);

    AdamWMoments ExportMoments();

    void ImportMoments(AdamWMoments moments);
}
