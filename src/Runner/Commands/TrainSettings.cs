using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>The options of <c>dromedary train</c>; defaults are the method's (METHOD.md §4.3–4.4).</summary>
internal sealed class TrainSettings : CommandSettings
{
    [CommandOption("--base <DIR>")]
    [Description("Hugging Face LLaMA folder to train an adapter for (F32, F16 or BF16 weights; int8 for --precision int8).")]
    public string Base { get; init; } = "";

    [CommandOption("--data <FILE>")]
    [Description("Training data: records {instruction, input, output, example_id?} as a JSON array or JSON lines, or with --format tokens JSON lines {input_ids, labels}.")]
    public string Data { get; init; } = "";

    [CommandOption("--out <DIR>")]
    [Description("Run folder: the PEFT adapter, metrics.jsonl, loss.svg, checkpoints/.")]
    public string Out { get; init; } = "";

    [CommandOption("--init-adapter <DIR>")]
    [Description("Start from this PEFT adapter (its r, alpha and targets) instead of a fresh one.")]
    public string? InitAdapter { get; init; }

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
    [Description("Most tokens per example, BOS included (records only).")]
    [DefaultValue(512)]
    public int Cutoff { get; init; } = 512;

    [CommandOption("--clip <NORM>")]
    [Description("Clip the global gradient norm to this; 0 = off.")]
    [DefaultValue(1.0)]
    public double Clip { get; init; } = 1.0;

    [CommandOption("--seed <N>")]
    [Description("Fixes the adapter's initialisation, the data order and the dropout masks.")]
    [DefaultValue(42)]
    public int Seed { get; init; } = 42;

    [CommandOption("--checkpoint-every <STEPS>")]
    [Description("Save a resumable checkpoint every N steps; 0 = never.")]
    [DefaultValue(50)]
    public int CheckpointEvery { get; init; } = 50;

    [CommandOption("--resume")]
    [Description("Continue the run in --out from its newest complete checkpoint.")]
    public bool Resume { get; init; }

    [CommandOption("--precision <PRECISION>")]
    [Description("Frozen base weights: int8 (default) or fp32.")]
    [DefaultValue("int8")]
    public string Precision { get; init; } = "int8";

    [CommandOption("--kernels <NAME>")]
    [Description("Kernel set to train on (see 'dromedary info').")]
    public string? Kernels { get; init; }

    [CommandOption("--threads <N>")]
    [Description("Worker threads; default: all cores.")]
    public int? Threads { get; init; }

    [CommandOption("--format <FORMAT>")]
    [Description("records (default) or tokens.")]
    [DefaultValue("records")]
    public string Format { get; init; } = "records";

    [CommandOption("--train-on-inputs")]
    [Description("Count the prompt's tokens in the loss too; the method masks them.")]
    public bool TrainOnInputs { get; init; }

    [CommandOption("--prompt <FILE>")]
    [Description("Meta prompt file (repeatable: record k uses prompt example_id mod count); default: our standard prompt.")]
    public string[] Prompts { get; init; } = [];

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Base) ? ValidationResult.Error("--base <DIR> is required.")
        : string.IsNullOrWhiteSpace(Data) ? ValidationResult.Error("--data <FILE> is required.")
        : string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.")
        : MicroBatch != "auto" && !(int.TryParse(MicroBatch, out var n) && n >= 1) ? ValidationResult.Error("--micro-batch must be a number ≥ 1 or auto.")
        : CheckpointEvery < 0 ? ValidationResult.Error("--checkpoint-every must be 0 (never) or more.")
        : Format is not ("records" or "tokens") ? ValidationResult.Error("--format must be records or tokens.")
        : ValidationResult.Success();
}
