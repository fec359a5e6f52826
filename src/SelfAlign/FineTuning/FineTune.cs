using System.Globalization;
using System.Security.Cryptography;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Planning;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Prompts;
using Dromedary.Training.Data;
using Dromedary.Training.Lora;
using Dromedary.Training.Planning;
using Dromedary.Training.Trainer;

namespace Dromedary.SelfAlign.FineTuning;

/// <summary>
/// A LoRA run made ready: examples built, the starting adapter made and the run folder checked, all before the
/// (slow) base model loads, so bad input fails fast. <see cref="Run"/> then trains on the loaded base.
/// </summary>
public sealed class FineTune
{
    private readonly FineTuneOptions _options;
    private readonly TrainingSequence[] _examples;
    private readonly LoraAdapter _adapter;
    private readonly LoraTrainer _trainer;
    private readonly LlamaConfig _config;

    private FineTune(FineTuneOptions options, TrainingSequence[] examples, LoraAdapter adapter, LoraTrainer trainer, LlamaConfig config)
    {
        (_options, _examples, _adapter, _trainer, _config) = (options, examples, adapter, trainer, config);
    }

    /// <summary>The step training starts from: 0, or the resumed checkpoint's.</summary>
    public int FirstStep => _trainer.FirstStep;

    public static FineTune Prepare(FineTuneOptions options)
    {
        var config = LlamaConfig.Load(options.Base);
        var (examples, dataInputs) = LoadExamples(options, config);
        if (examples.Length == 0) throw new DromedaryException($"{options.Data}: no training records.");
        var maxTokens = examples.Max(e => e.InputIds.Length);
        if (maxTokens > config.MaxPositions)
            throw new DromedaryException($"{options.Data}: the longest example has {maxTokens} tokens, more than the model's {config.MaxPositions} " +
                                         "(max_position_embeddings); lower --cutoff.");
        var adapter = InitialAdapter(options, config);
        var inputs = new Dictionary<string, string>(dataInputs)
        {
            ["base"] = Path.GetFullPath(options.Base),
            ["precision"] = options.Precision.ToLowerInvariant(),
            ["lora"] = Describe(adapter.Config),
            ["init_adapter"] = options.InitAdapter is { } init ? Sha256(Path.Combine(init, LoraAdapter.WeightsFileName)) : "none",
        };
        var settings = new TrainingSettings(options.LearningRate, options.Warmup, options.Schedule, options.Epochs, options.Batch,
            options.Clip, options.Seed, inputs);
        return new FineTune(options, examples, adapter, new LoraTrainer(options.Out, settings, config, options.Resume), config);
    }

    /// <summary>
    /// What the training step needs on <paramref name="kernels"/> with base weights of <paramref name="precision"/>
    /// and <paramref name="groupSize"/>: load the base with it (<see cref="ModelLoadOptions.Memory"/>) so the set
    /// reserves exactly this before the weights and the engine's buffers are carved.
    /// </summary>
    public MemoryPlan MemoryPlan(IKernelSet kernels, Precision precision, int groupSize) =>
        TrainingPlanner.Plan(_config, kernels, Step(kernels, precision) with { GroupSize = groupSize });

    /// <summary>Trains on <paramref name="model"/> (the base, loaded without an adapter, with <see cref="MemoryPlan"/>); progress gets each step.</summary>
    public TrainingOutcome Run(LlamaModel model, IProgress<TrainingProgress> progress, CancellationToken cancellation = default)
    {
        var step = Step(model.Kernels, model.Precision);
        return _trainer.Run(_examples, _adapter,
            start => LoraTrainingEngines.Create(model, start, step.Cutoff, step.MicroBatch, (ulong)_options.Seed, new AdamWOptions()),
            new TrainingPace(step.MicroBatch, _options.CheckpointEvery), progress, cancellation);
    }

    /// <summary>
    /// The step the engines run: blocks of micro-batch × the longest example's tokens, the micro-batch given or the
    /// largest power of two whose training plan fits the kernel set's memory, and never above the step's batch
    /// (a larger one would only size a block no step fills).
    /// </summary>
    private TrainingPlanOptions Step(IKernelSet kernels, Precision precision)
    {
        // Group size 0 (a scale per row) to choose: a grouped int8 checkpoint adds under 1 % of scales, noise beside the activations.
        var step = new TrainingPlanOptions(precision, 0, _adapter.Config, 1, _examples.Max(e => e.InputIds.Length));
        var microBatch = _options.MicroBatch ??
                         TrainingPlanner.ChooseMicroBatch(_config, kernels, step, kernels.MemoryCapacity, $"the memory of kernel set '{kernels.Name}'").MicroBatch;
        return step with { MicroBatch = Math.Min(microBatch, _options.Batch) };
    }

    /// <summary>The examples, and what fixes them (for the resume check): the data's hash, format, template, cutoff.</summary>
    private static (TrainingSequence[] Examples, Dictionary<string, string> Inputs) LoadExamples(FineTuneOptions options, LlamaConfig config)
    {
        var inputs = new Dictionary<string, string> { ["data_sha256"] = Sha256(options.Data), ["format"] = options.Format };
        IEnumerable<TokenizedExample> examples;
        if (options.Format == "tokens")
        {
            examples = TokenizedExampleReader.Read(options.Data, config.VocabSize);
        }
        else
        {
            var records = TrainingRecordReader.Read(options.Data);
            var template = options.Template ?? TrainingTemplate.Default();
            var builder = new ExampleBuilder(TextTokenizer.Load(options.Base), template, options.Cutoff, options.TrainOnInputs);
            examples = records.Select(builder.Build);
            inputs["cutoff"] = options.Cutoff.ToString(CultureInfo.InvariantCulture);
            inputs["train_on_inputs"] = options.TrainOnInputs ? "true" : "false";
            inputs["meta_prompts_sha256"] = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\0", template.MetaPrompts))));
        }
        return (examples.Select(e => new TrainingSequence(e.InputIds, e.Labels)).ToArray(), inputs);
    }

    /// <summary>
    /// A fresh adapter (PEFT's initialisation from the seed), or the --init-adapter one, whose r, alpha and targets
    /// hold (options that contradict them are refused) with this run's dropout.
    /// </summary>
    private static LoraAdapter InitialAdapter(FineTuneOptions options, LlamaConfig config)
    {
        var baseName = Path.GetFileName(Path.GetFullPath(options.Base));
        var targets = options.Targets is { } list ? ParseTargets(list) : null;
        if (options.InitAdapter is not { } folder)
        {
            var fresh = new LoraConfig { BaseModel = baseName };
            fresh = fresh with
            {
                Rank = options.Rank ?? fresh.Rank, Alpha = options.Alpha ?? fresh.Alpha, Dropout = options.Dropout ?? fresh.Dropout,
                Targets = targets ?? fresh.Targets,
            };
            fresh.Validate("LoRA options");
            return LoraAdapter.Create(fresh, config, (ulong)options.Seed);
        }
        var loaded = LoraAdapter.Load(folder, config);
        void Refuse(string option, bool differs, object given, object saved)
        {
            if (differs) throw new DromedaryException($"{option} {given} contradicts --init-adapter {folder}, which has {saved}; leave the option out.");
        }
        Refuse("--lora-r", options.Rank is { } r && r != loaded.Config.Rank, options.Rank!, loaded.Config.Rank);
        Refuse("--lora-alpha", options.Alpha is { } a && a != loaded.Config.Alpha, options.Alpha!, loaded.Config.Alpha);
        Refuse("--targets", targets != null && !targets.SequenceEqual(loaded.Config.Targets), options.Targets!,
            string.Join(",", loaded.Config.Targets.Select(t => t.PeftName())));
        var adapterConfig = loaded.Config with { Dropout = options.Dropout ?? new LoraConfig().Dropout, BaseModel = baseName };
        adapterConfig.Validate("LoRA options");
        var adapter = LoraAdapter.Create(adapterConfig, config, (ulong)options.Seed);
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
}
