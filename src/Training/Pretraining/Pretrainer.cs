using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Safetensors;
using Dromedary.Model.Tokenization;
using Dromedary.Training.Metrics;
using Dromedary.Training.Schedules;

namespace Dromedary.Training.Pretraining;

/// <summary>
/// Full-parameter fp32 training of a small LLaMA from scratch on the CPU: random windows of a token stream, mean
/// next-token loss, global-norm clipping, AdamW (β 0.9/0.95, weight decay on matrices only) under a learning-rate
/// schedule. Writes metrics.jsonl and loss.svg as it goes, resumable checkpoints every few steps, and at the end a
/// Hugging Face LLaMA folder (config.json, model.safetensors, tokenizer.model) that LlamaModel.Load reads.
/// </summary>
public static class Pretrainer
{
    public const string MetricsFile = "metrics.jsonl", PlotFile = "loss.svg";

    /// <summary>Runs (or resumes) to the last step; a cancelled run stops before its next step, its last checkpoint kept.</summary>
    /// <returns>The mean loss of the last step run (NaN when none ran).</returns>
    public static double Run(PretrainingOptions options, IProgress<PretrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Check();
        var config = LlamaConfig.Load(options.ConfigPath);
        var tokenizer = TextTokenizer.Load(options.TokenizerPath);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new DromedaryException($"{options.TokenizerPath}: {tokenizer.VocabSize} tokens, more than the config's vocab_size {config.VocabSize}.");
        if (options.SequenceLength > config.MaxPositions)
            throw new DromedaryException($"--seq-len {options.SequenceLength} is longer than the config's max_position_embeddings {config.MaxPositions}.");
        var corpus = PretrainingCorpus.Load(options.CorpusPath, tokenizer);
        corpus.CheckWindow(options.CorpusPath, options.SequenceLength + 1);

        var folder = options.OutputFolder;
        Directory.CreateDirectory(folder);
        var settings = options.Fingerprint;
        int start;
        ModelTensors weights, m, v;
        if (options.Resume)
        {
            if (!PretrainingCheckpoint.Exists(folder))
                throw new DromedaryException($"{folder}: no {PretrainingCheckpoint.StateFile} to resume from.");
            start = PretrainingCheckpoint.Load(folder, settings, config, out weights, out m, out v);
        }
        else
        {
            if (PretrainingCheckpoint.Exists(folder))
                throw new DromedaryException($"{folder}: holds a pretraining run already; pass --resume to continue it or choose another --out.");
            weights = options.InitialWeights is { } init ? ReadInitialWeights(config, init) : ModelTensors.Random(config, options.Seed);
            (start, m, v) = (0, ModelTensors.Zeros(config), ModelTensors.Zeros(config));
        }

        var schedule = Schedules.Schedule.Parse(options.Schedule, options.LearningRate, options.WarmupSteps, options.Steps);
        var gradients = ModelTensors.Zeros(config);
        var decayed = weights.Specs.Select(spec => spec.Shape.Length == 2).ToArray();
        using var pool = new WorkerPool(Environment.ProcessorCount);
        using var pass = new PretrainingPass(config, pool, options.SequenceLength);
        var adamDecay = new CpuAdamW(pool, new AdamWOptions(0.9, 0.95, 1e-8, options.WeightDecay));
        var adamPlain = new CpuAdamW(pool, new AdamWOptions(0.9, 0.95, 1e-8, 0));
        using (var metrics = new MetricsLog(Path.Combine(folder, MetricsFile), start))
        {
            var clock = Stopwatch.StartNew();
            var windowTokens = (long)options.SequenceLength * options.Batch;
            var lastLoss = double.NaN;
            for (var step = start; step < options.Steps && !cancellation.IsCancellationRequested; step++)
            {
                gradients.Clear();
                var loss = 0.0;
                var scale = (float)(1.0 / windowTokens);
                for (var b = 0; b < options.Batch; b++)
                    loss += pass.ForwardBackward(weights, corpus.Window(options.Seed, step, b, options.SequenceLength + 1), scale, gradients);
                if (!double.IsFinite(loss))
                    throw new DromedaryException($"step {step}: the loss is {loss}; lower --lr or raise --warmup.");

                var norm = new GradientNorm();
                foreach (var gradient in gradients.All) norm.Add(gradient);
                var clip = GradientNorm.ClipCoefficient(norm.Value, options.MaxGradNorm);
                var lr = schedule.At(step);
                var tensors = weights.All.Zip(gradients.All).Zip(m.All.Zip(v.All)).ToArray();
                for (var i = 0; i < tensors.Length; i++)
                {
                    var ((w, g), (first, second)) = tensors[i];
                    if (clip < 1) GradientNorm.Scale(g, clip);
                    (decayed[i] ? adamDecay : adamPlain).Step(w, g, first, second, lr, step + 1);
                }

                var elapsed = clock.Elapsed.TotalSeconds;
                var rate = (step + 1 - start) * windowTokens / Math.Max(elapsed, 1e-9);
                metrics.Append(new StepMetrics(step, loss, lr, norm.Value, windowTokens, rate, elapsed));
                lastLoss = loss;
                progress?.Report(new PretrainingProgress(step + 1, options.Steps, loss, lr, rate));
                if ((step + 1) % options.CheckpointEvery == 0 || step + 1 == options.Steps)
                {
                    PretrainingCheckpoint.Save(folder, step + 1, settings, weights, m, v);
                    LossPlot.Write(Path.Combine(folder, PlotFile), MetricsLog.Read(metrics.Path), "Pretraining loss");
                }
            }
            if (cancellation.IsCancellationRequested) return lastLoss;
        }
        WriteModel(options, weights);
        return LastLoss(folder);
    }

    private static double LastLoss(string folder) => MetricsLog.Read(Path.Combine(folder, MetricsFile)) is [.., var last] ? last.Loss : double.NaN;

    /// <summary>The Hugging Face folder: config.json (torch_dtype set to the output type), model.safetensors, tokenizer.model.</summary>
    private static void WriteModel(PretrainingOptions options, ModelTensors weights)
    {
        var folder = options.OutputFolder;
        weights.Write(Path.Combine(folder, Checkpoint.SingleFileName), options.OutputType);
        var config = JsonNode.Parse(File.ReadAllText(options.ConfigPath))!.AsObject();
        config["torch_dtype"] = options.OutputType == ScalarType.F16 ? "float16" : "float32";
        var json = config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        AtomicFile.Write(Path.Combine(folder, "config.json"), Encoding.UTF8.GetBytes(json));
        var tokenizer = Directory.Exists(options.TokenizerPath) ? Path.Combine(options.TokenizerPath, "tokenizer.model") : options.TokenizerPath;
        AtomicFile.Write(Path.Combine(folder, "tokenizer.model"), File.ReadAllBytes(tokenizer));
    }

    private static ModelTensors ReadInitialWeights(LlamaConfig config, string path)
    {
        if (!File.Exists(path)) throw new DromedaryException($"{path}: not found (--init takes a model.safetensors of the config's shape).");
        return ModelTensors.Read(config, path);
    }
}
