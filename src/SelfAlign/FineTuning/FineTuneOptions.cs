using Dromedary.SelfAlign.Prompts;

namespace Dromedary.SelfAlign.FineTuning;

/// <summary>
/// One LoRA fine-tuning run, as `train`, `engrave` and `verbose-clone` ask for it. Defaults are the method's
/// (METHOD.md §4.3–4.4): r 16, alpha 16, dropout 0.05 on q,k,v,o; batch 768; lr 4e-4; log warm-up 100 then linear
/// decay; 1 epoch; cutoff 512; clipping 1.0. A null LoRA option keeps the default, or the --init-adapter's value.
/// </summary>
public sealed record FineTuneOptions
{
    /// <summary>Stage 3's cutoff (METHOD.md §4.4), also `train`'s.</summary>
    public const int DefaultCutoff = 512;

    public required string Base { get; init; }
    public required string Data { get; init; }
    public required string Out { get; init; }

    /// <summary>Meta prompts for records; null: our standard prompt.</summary>
    public TrainingTemplate? Template { get; init; }

    public string? InitAdapter { get; init; }
    public int? Rank { get; init; }
    public double? Alpha { get; init; }
    public double? Dropout { get; init; }

    /// <summary>Comma-separated projections (q,k,v,o,gate,up,down); null: q,k,v,o.</summary>
    public string? Targets { get; init; }

    public double LearningRate { get; init; } = 4e-4;
    public int Warmup { get; init; } = 100;
    public string Schedule { get; init; } = "log-linear";
    public int Epochs { get; init; } = 1;
    public int Batch { get; init; } = 768;
    /// <summary>Examples per forward/backward; null: the training planner's choice for the kernel set's memory.</summary>
    public int? MicroBatch { get; init; }
    public int Cutoff { get; init; } = DefaultCutoff;
    public double Clip { get; init; } = 1.0;
    public int Seed { get; init; } = 42;
    public int CheckpointEvery { get; init; } = 50;
    public bool Resume { get; init; }

    /// <summary>The frozen base's precision, "int8" or "fp32": part of what fixes the result.</summary>
    public string Precision { get; init; } = "int8";

    /// <summary>"records" ({instruction, input, output, example_id?}) or "tokens" ({input_ids, labels}).</summary>
    public string Format { get; init; } = "records";

    public bool TrainOnInputs { get; init; }
}
