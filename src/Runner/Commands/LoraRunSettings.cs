using System.ComponentModel;
using Dromedary.SelfAlign.FineTuning;
using Dromedary.SelfAlign.Prompts;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>
/// The options of every command that trains a LoRA adapter (`train`, `engrave`, `verbose-clone`); defaults are the
/// method's (METHOD.md §4.3–4.4), except the cutoff and meta prompts, which each stage sets.
/// </summary>
internal class LoraRunSettings : CommandSettings
{
    [CommandOption("--base <DIR>")]
    [Description("Hugging Face LLaMA folder to train an adapter for (F32, F16 or BF16 weights; int8 for --precision int8).")]
    public string Base { get; init; } = "";

    [CommandOption("--data <FILE>")]
    [Description("Records {instruction, input, output, example_id?} as a JSON array or JSON lines (verbose-clone reads only instruction and input: the questions it answers).")]
    public string Data { get; init; } = "";

    [CommandOption("--out <DIR>")]
    [Description("Run folder: the PEFT adapter, metrics.jsonl, loss.svg, checkpoints/.")]
    public string Out { get; init; } = "";

    [CommandOption("--lora-r <R>")]
    [Description("LoRA rank (default 16).")]
    public int? Rank { get; init; }

    [CommandOption("--lora-alpha <ALPHA>")]
    [Description("LoRA alpha; the update is scaled by alpha/r (default 16).")]
    public double? Alpha { get; init; }

    [CommandOption("--lora-dropout <P>")]
    [Description("Dropout on the LoRA branch's input (default 0.05).")]
    public double? Dropout { get; init; }

    [CommandOption("--targets <LIST>")]
    [Description("Projections to adapt, comma-separated: q,k,v,o,gate,up,down (default q,k,v,o).")]
    public string? Targets { get; init; }

    [CommandOption("--lr <LR>")]
    [Description("Peak learning rate.")]
    [DefaultValue(4e-4)]
    public double LearningRate { get; init; } = 4e-4;

    [CommandOption("--warmup <STEPS>")]
    [Description("Warm-up steps.")]
    [DefaultValue(100)]
    public int Warmup { get; init; } = 100;

    [CommandOption("--schedule <NAME>")]
    [Description("log-linear (the method's), linear, cosine or constant.")]
    [DefaultValue("log-linear")]
    public string Schedule { get; init; } = "log-linear";

    [CommandOption("--epochs <N>")]
    [DefaultValue(1)]
    public int Epochs { get; init; } = 1;

    [CommandOption("--batch <N>")]
    [Description("Examples per optimizer step.")]
    [DefaultValue(768)]
    public int Batch { get; init; } = 768;

    [CommandOption("--micro-batch <N|auto>")]
    [Description("Examples per forward/backward; the step accumulates them. The result is the same whatever it is. auto: the largest power of two whose training plan ('dromedary plan --train') fits the kernel set's memory, at most --batch.")]
    [DefaultValue("auto")]
    public string MicroBatch { get; init; } = "auto";

    [CommandOption("--cutoff <TOKENS>")]
    [Description("Most tokens per example, BOS included (default: the stage's, 512 for train and engrave, 768 for verbose-clone).")]
    public int? Cutoff { get; init; }

    [CommandOption("--clip <NORM>")]
    [Description("Clip the global gradient norm to this; 0 = off.")]
    [DefaultValue(1.0)]
    public double Clip { get; init; } = 1.0;

    [CommandOption("--seed <N>")]
    [Description("Fixes the adapter's initialisation, the data order and the dropout masks (and sampling, where a command generates).")]
    [DefaultValue(42)]
    public int Seed { get; init; } = 42;

    [CommandOption("--checkpoint-every <STEPS>")]
    [Description("Save a resumable checkpoint every N steps; 0 = never.")]
    [DefaultValue(50)]
    public int CheckpointEvery { get; init; } = 50;

    [CommandOption("--resume")]
    [Description("Continue the run in --out from where it stopped.")]
    public bool Resume { get; init; }

    [CommandOption("--precision <PRECISION>")]
    [Description("Frozen base weights: int8 (default) or fp32.")]
    [DefaultValue("int8")]
    public string Precision { get; init; } = "int8";

    [CommandOption("--kernels <NAME>")]
    [Description("Kernel set to run on (see 'dromedary info').")]
    public string? Kernels { get; init; }

    [CommandOption("--threads <N>")]
    [Description("Worker threads; default: all cores.")]
    public int? Threads { get; init; }

    [CommandOption("--prompt <FILE>")]
    [Description("Training meta prompt file (repeatable: record k uses prompt example_id mod count); default: the stage's own prompts.")]
    public string[] Prompts { get; init; } = [];

    /// <summary>The run these options describe, on <paramref name="data"/> into <paramref name="folder"/>.</summary>
    public FineTuneOptions ToOptions(string data, string folder, TrainingTemplate template, int defaultCutoff) => new()
    {
        Base = Base, Data = data, Out = folder, Template = Prompts.Length > 0 ? TrainingTemplate.FromFiles(Prompts) : template,
        Rank = Rank, Alpha = Alpha, Dropout = Dropout, Targets = Targets, LearningRate = LearningRate, Warmup = Warmup,
        Schedule = Schedule, Epochs = Epochs, Batch = Batch, MicroBatch = MicroBatch == "auto" ? null : int.Parse(MicroBatch, System.Globalization.CultureInfo.InvariantCulture), Cutoff = Cutoff ?? defaultCutoff, Clip = Clip,
        Seed = Seed, CheckpointEvery = CheckpointEvery, Resume = Resume, Precision = Precision,
    };

    /// <summary>The base model as the training pass loads it.</summary>
    public ModelSettings BaseModel(string? adapter = null) => new()
    {
        Model = Base, Precision = Precision, Kernels = Kernels, Threads = Threads, Adapter = adapter,
    };

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Base) ? ValidationResult.Error("--base <DIR> is required.")
        : string.IsNullOrWhiteSpace(Data) ? ValidationResult.Error("--data <FILE> is required.")
        : string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.")
        : MicroBatch != "auto" && !(int.TryParse(MicroBatch, out var n) && n >= 1) ? ValidationResult.Error("--micro-batch must be a number ≥ 1 or auto.")
        : CheckpointEvery < 0 ? ValidationResult.Error("--checkpoint-every must be 0 (never) or more.")
        : ValidationResult.Success();
}
