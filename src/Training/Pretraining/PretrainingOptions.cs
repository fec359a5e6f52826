using Dromedary.Kernels;

namespace Dromedary.Training.Pretraining;

/// <summary>The settings of a pretraining run; those that shape the result are kept in its checkpoints, so a resume can check them.</summary>
public sealed record PretrainingOptions
{
    public required string ConfigPath { get; init; }
    public required string TokenizerPath { get; init; }
    public required string CorpusPath { get; init; }
    public required string OutputFolder { get; init; }
    public int SequenceLength { get; init; } = 256;
    public int Batch { get; init; } = 16;
    public int Steps { get; init; } = 1000;
    public double LearningRate { get; init; } = 3e-3;
    public int WarmupSteps { get; init; } = 100;
    public string Schedule { get; init; } = "cosine";
    public ulong Seed { get; init; } = 1;
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Decoupled weight decay on the matrices (norm weights are not decayed).</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>Optimizer steps between checkpoints; the last step always writes one.</summary>
    public int CheckpointEvery { get; init; } = 100;
    public bool Resume { get; init; }
    /// <summary>A safetensors file of the config's tensors to start from instead of random weights (null: random).</summary>
    public string? InitialWeights { get; init; }
    /// <summary>The element type of the final model.safetensors (F32 or F16).</summary>
    public ScalarType OutputType { get; init; } = ScalarType.F16;

    /// <summary>The settings that must match for a resumed run to continue the same run.</summary>
    public string Fingerprint =>
        $"seq_len={SequenceLength} batch={Batch} steps={Steps} lr={LearningRate:R} warmup={WarmupSteps} schedule={Schedule} " +
        $"seed={Seed} clip={MaxGradNorm:R} weight_decay={WeightDecay:R}" + (InitialWeights is null ? "" : $" init={InitialWeights}");

    public void Check()
    {
        if (SequenceLength < 1) throw new DromedaryException($"--seq-len must be ≥ 1, not {SequenceLength}.");
        if (Batch < 1) throw new DromedaryException($"--batch must be ≥ 1, not {Batch}.");
        if (Steps < 1) throw new DromedaryException($"--steps must be ≥ 1, not {Steps}.");
        if (CheckpointEvery < 1) throw new DromedaryException($"--checkpoint-every must be ≥ 1, not {CheckpointEvery}.");
        if (!(MaxGradNorm > 0)) throw new DromedaryException($"the gradient clipping norm must be > 0, not {MaxGradNorm}.");
        if (OutputType is not (ScalarType.F32 or ScalarType.F16)) throw new DromedaryException($"the output type must be F32 or F16, not {OutputType}.");
    }
}

/// <summary>Where a run stands after an optimizer step, for a progress display.</summary>
public sealed record PretrainingProgress(int Step, int Steps, double Loss, double LearningRate, double TokensPerSecond);
