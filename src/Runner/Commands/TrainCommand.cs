using System.Globalization;
using System.Security.Cryptography;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Lora;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Prompts;
using Dromedary.Training.Data;
using Dromedary.Training.Lora;
using Dromedary.Training.Planning;
using Dromedary.Training.Trainer;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class TrainCommand : Command<TrainSettings>
{
    public override int Execute(CommandContext context, TrainSettings settings, CancellationToken cancellation)
    {
        var config = LlamaConfig.Load(settings.Base);
        var (examples, dataInputs) = LoadExamples(settings, config);
        var adapter = InitialAdapter(settings, config);
        var inputs = new Dictionary<string, string>(dataInputs)
        {
            ["base"] = Path.GetFullPath(settings.Base),
            ["precision"] = settings.Precision.ToLowerInvariant(),
            ["lora"] = Describe(adapter.Config),
            ["init_adapter"] = settings.InitAdapter is { } init ? Sha256(Path.Combine(init, LoraAdapter.WeightsFileName)) : "none",
        };
        var trainingSettings = new TrainingSettings(settings.LearningRate, settings.Warmup, settings.Schedule, settings.Epochs,
            settings.Batch, settings.Clip, settings.Seed, inputs);
        var trainer = new LoraTrainer(settings.Out, trainingSettings, config, settings.Resume);
        if (trainer.FirstStep > 0) Console.Error.WriteLine($"resuming {settings.Out} after step {trainer.FirstStep}");

        using var opened = ModelOpener.Open(new ModelSettings
        {
            Model = settings.Base, Precision = settings.Precision, Kernels = settings.Kernels, Threads = settings.Threads,
        });
        var maxTokens = examples.Max(e => e.InputIds.Length);
        if (maxTokens > config.MaxPositions)
            throw new DromedaryException($"{settings.Data}: the longest example has {maxTokens} tokens, more than the model's {config.MaxPositions} " +
                                         "(max_position_embeddings); lower --cutoff.");
        var outcome = ProgressDisplay.RunWithStatus("training", progress => trainer.Run(examples, adapter,
            start => LoraTrainingEngines.Create(opened.Model, start, maxTokens, (ulong)settings.Seed, new AdamWOptions()),
            new TrainingPace(MicroBatch(settings, opened, adapter.Config), settings.CheckpointEvery),
            new StepStatus(progress), cancellation));
        if (!outcome.Completed)
        {
            AnsiConsole.MarkupLineInterpolated($"stopped after step {outcome.Steps}; [bold]--resume[/] continues from the newest checkpoint");
            return 1;
        }
        AnsiConsole.MarkupLineInterpolated($"trained {outcome.Steps} steps; wrote the adapter, metrics.jsonl and loss.svg to [bold]{outcome.AdapterFolder}[/]");
        return 0;
    }

    /// <summary>--micro-batch, or for auto the planner's choice for the loaded model's kernel set, at most --batch.</summary>
    private static int MicroBatch(TrainSettings settings, ModelOpener opened, LoraConfig lora)
    {
        if (settings.MicroBatch != "auto") return int.Parse(settings.MicroBatch, CultureInfo.InvariantCulture);
        var kernels = opened.Model.Kernels;
        // Group size 0 (a scale per row): a grouped int8 checkpoint adds under 1 % of scales, noise beside the activations.
        var options = new TrainingPlanOptions(opened.Model.Precision, 0, lora, 1, settings.Cutoff);
        var (chosen, _) = TrainingPlanner.ChooseMicroBatch(opened.Model.Config, kernels, options, kernels.MemoryCapacity, $"the memory of kernel set '{kernels.Name}'");
        return Math.Min(chosen, settings.Batch);
    }

    /// <summary>The examples, and what fixes them (for the resume check): the data's hash, format, template, cutoff.</summary>
    private static (TrainingSequence[] Examples, Dictionary<string, string> Inputs) LoadExamples(TrainSettings settings, LlamaConfig config)
    {
        var inputs = new Dictionary<string, string> { ["data_sha256"] = Sha256(settings.Data), ["format"] = settings.Format };
        IEnumerable<TokenizedExample> examples;
        if (settings.Format == "tokens")
        {
            examples = TokenizedExampleReader.Read(settings.Data, config.VocabSize);
        }
        else
        {
            var records = TrainingRecordReader.Read(settings.Data);
            var template = settings.Prompts.Length > 0 ? TrainingTemplate.FromFiles(settings.Prompts) : TrainingTemplate.Default();
            var builder = new ExampleBuilder(TextTokenizer.Load(settings.Base), template, settings.Cutoff, settings.TrainOnInputs);
            examples = records.Select(builder.Build);
            inputs["cutoff"] = settings.Cutoff.ToString(CultureInfo.InvariantCulture);
            inputs["train_on_inputs"] = settings.TrainOnInputs ? "true" : "false";
            inputs["meta_prompts_sha256"] = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\0", template.MetaPrompts))));
        }
        return (examples.Select(e => new TrainingSequence(e.InputIds, e.Labels)).ToArray(), inputs);
    }

    /// <summary>
    /// A fresh adapter (PEFT's initialisation from the seed), or the --init-adapter one, whose r, alpha and targets
    /// hold (options that contradict them are refused) with this run's dropout.
    /// </summary>
    private static LoraAdapter InitialAdapter(TrainSettings settings, LlamaConfig config)
    {
        var baseName = Path.GetFileName(Path.GetFullPath(settings.Base));
        var targets = settings.Targets is { } list ? ParseTargets(list) : null;
        if (settings.InitAdapter is not { } folder)
        {
            var fresh = new LoraConfig { BaseModel = baseName };
            fresh = fresh with
            {
                Rank = settings.Rank ?? fresh.Rank, Alpha = settings.Alpha ?? fresh.Alpha, Dropout = settings.Dropout ?? fresh.Dropout,
                Targets = targets ?? fresh.Targets,
            };
            fresh.Validate("LoRA options");
            return LoraAdapter.Create(fresh, config, (ulong)settings.Seed);
        }
        var loaded = LoraAdapter.Load(folder, config);
        void Refuse(string option, bool differs, object given, object saved)
        {
            if (differs) throw new DromedaryException($"{option} {given} contradicts --init-adapter {folder}, which has {saved}; leave the option out.");
        }
        Refuse("--lora-r", settings.Rank is { } r && r != loaded.Config.Rank, settings.Rank!, loaded.Config.Rank);
        Refuse("--lora-alpha", settings.Alpha is { } a && a != loaded.Config.Alpha, settings.Alpha!, loaded.Config.Alpha);
        Refuse("--targets", targets != null && !targets.SequenceEqual(loaded.Config.Targets), settings.Targets!,
            string.Join(",", loaded.Config.Targets.Select(t => t.PeftName())));
        var adapterConfig = loaded.Config with { Dropout = settings.Dropout ?? new LoraConfig().Dropout, BaseModel = baseName };
        adapterConfig.Validate("LoRA options");
        var adapter = LoraAdapter.Create(adapterConfig, config, (ulong)settings.Seed);
        adapter.CopyWeightsFrom(loaded);
        return adapter;
    }

    private static LoraTarget[] ParseTargets(string list) =>
        list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(name => LoraTargets.TryParse(name, out var target)
            ? target
            : throw new DromedaryException($"--targets: unknown projection '{name}'; use q, k, v, o, gate, up, down.")).ToArray();

    private static string Describe(LoraConfig config) => string.Create(CultureInfo.InvariantCulture,
        $"r={config.Rank} alpha={config.Alpha} dropout={config.Dropout} targets={string.Join(",", config.Targets.Select(t => t.PeftName()))}");

    private static string Sha256(string path)
    {
        if (!File.Exists(path)) throw new DromedaryException($"{path}: not found.");
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>A step's line: step, loss, learning rate and counted tokens per second; the bar adds the time left.</summary>
    private sealed class StepStatus(IProgress<(int Done, int Total, string Status)> display) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            var m = value.Metrics;
            var status = value.Skipped
                ? $"step {m.Step}/{value.TotalSteps} skipped: no counted tokens"
                : string.Create(CultureInfo.InvariantCulture, $"step {m.Step}/{value.TotalSteps} loss {m.Loss:F4} lr {m.LearningRate:0.###e+0} {m.TokensPerSecond:F0} tok/s");
            display.Report((m.Step, value.TotalSteps, status));
        }
    }
}
