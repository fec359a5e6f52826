using System.ComponentModel;
using Dromedary.Kernels;
using Dromedary.Training.Pretraining;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class PretrainCommand : Command<PretrainCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandOption("--config <FILE>")]
        [Description("Hugging Face LLaMA config.json giving the model's shape; training starts from random weights unless --init gives some.")]
        public string Config { get; init; } = "";

        [CommandOption("--tokenizer <FILE>")]
        [Description("SentencePiece tokenizer.model (BOS 1, EOS 2); copied into the output.")]
        public string Tokenizer { get; init; } = "";

        [CommandOption("--corpus <FILE>")]
        [Description($"UTF-8 text; documents are separated by a line holding only {PretrainingCorpus.DocumentSeparator}.")]
        public string Corpus { get; init; } = "";

        [CommandOption("--out <DIR>")]
        [Description("Folder for metrics.jsonl, loss.svg, checkpoints and the final model (config.json, model.safetensors, tokenizer.model).")]
        public string Out { get; init; } = "";

        [CommandOption("--seq-len <TOKENS>")]
        [Description("Tokens per training window.")]
        [DefaultValue(256)]
        public int SequenceLength { get; init; } = 256;

        [CommandOption("--batch <WINDOWS>")]
        [Description("Windows per optimizer step.")]
        [DefaultValue(16)]
        public int Batch { get; init; } = 16;

        [CommandOption("--steps <N>")]
        [Description("Optimizer steps.")]
        [DefaultValue(1000)]
        public int Steps { get; init; } = 1000;

        [CommandOption("--lr <RATE>")]
        [Description("Peak learning rate.")]
        [DefaultValue(3e-3)]
        public double LearningRate { get; init; } = 3e-3;

        [CommandOption("--warmup <STEPS>")]
        [Description("Linear warm-up steps.")]
        [DefaultValue(100)]
        public int Warmup { get; init; } = 100;

        [CommandOption("--schedule <NAME>")]
        [Description("cosine, linear, log-linear or constant.")]
        [DefaultValue("cosine")]
        public string Schedule { get; init; } = "cosine";

        [CommandOption("--seed <N>")]
        [Description("Seeds the initial weights and the choice of windows.")]
        [DefaultValue(1UL)]
        public ulong Seed { get; init; } = 1;

        [CommandOption("--weight-decay <W>")]
        [Description("AdamW's decoupled weight decay on the matrices.")]
        [DefaultValue(0.1)]
        public double WeightDecay { get; init; } = 0.1;

        [CommandOption("--checkpoint-every <STEPS>")]
        [Description("Steps between resumable checkpoints (the last step always writes one).")]
        [DefaultValue(100)]
        public int CheckpointEvery { get; init; } = 100;

        [CommandOption("--resume")]
        [Description("Continue the run in --out from its last checkpoint, with the same settings.")]
        public bool Resume { get; init; }

        [CommandOption("--init <FILE>")]
        [Description("Start from this model.safetensors (the config's tensors; F32, F16 or BF16) instead of random weights, e.g. a run at shorter windows.")]
        public string? Init { get; init; }

        [CommandOption("--dtype <TYPE>")]
        [Description("Element type of the final model.safetensors: f16 or f32.")]
        [DefaultValue("f16")]
        public string DType { get; init; } = "f16";

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Config) ? ValidationResult.Error("--config <FILE> is required.")
            : string.IsNullOrWhiteSpace(Tokenizer) ? ValidationResult.Error("--tokenizer <FILE> is required.")
            : string.IsNullOrWhiteSpace(Corpus) ? ValidationResult.Error("--corpus <FILE> is required.")
            : string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.")
            : DType is not ("f16" or "f32") ? ValidationResult.Error("--dtype must be f16 or f32.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var options = new PretrainingOptions
        {
            ConfigPath = settings.Config, TokenizerPath = settings.Tokenizer, CorpusPath = settings.Corpus, OutputFolder = settings.Out,
            SequenceLength = settings.SequenceLength, Batch = settings.Batch, Steps = settings.Steps, LearningRate = settings.LearningRate,
            WarmupSteps = settings.Warmup, Schedule = settings.Schedule, Seed = settings.Seed, WeightDecay = settings.WeightDecay,
            CheckpointEvery = settings.CheckpointEvery, Resume = settings.Resume, InitialWeights = settings.Init,
            OutputType = settings.DType == "f32" ? ScalarType.F32 : ScalarType.F16,
        };
        var loss = ProgressDisplay.RunWithStatus("pretraining", bar =>
            Pretrainer.Run(options, new StepReport(bar), cancellation));
        if (cancellation.IsCancellationRequested)
        {
            Console.Error.WriteLine($"stopped; continue with --resume (last step loss {loss:0.0000}).");
            return 1;
        }
        AnsiConsole.MarkupLineInterpolated($"final loss {loss:0.0000}; wrote the model to [bold]{settings.Out}[/]");
        return 0;
    }

    /// <summary>Puts step, loss, learning rate and tokens/s on the bar (a plain stderr line per step when stderr is not a terminal).</summary>
    private sealed class StepReport(IProgress<(int Done, int Total, string Status)> bar) : IProgress<PretrainingProgress>
    {
        public void Report(PretrainingProgress value) => bar.Report((value.Step, value.Steps,
            $"step {value.Step}/{value.Steps} loss {value.Loss:0.000} lr {value.LearningRate:0.0e0} {value.TokensPerSecond:0} tok/s"));
    }
}
