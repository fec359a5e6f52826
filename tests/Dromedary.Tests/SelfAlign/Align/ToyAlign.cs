using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Align;
using Dromedary.SelfAlign.FineTuning;
using Dromedary.Training.Trainer;

namespace Dromedary.Tests.SelfAlign.Align;

/// <summary>
/// align in-process on the toy model (models/toy, fp32) at a tiny scale, with hooks that count model loads and
/// stop the run at a chosen point: after N completions, or after training step K.
/// </summary>
public static class ToyAlign
{
    public static string ToyModel => Path.Combine(AppContext.BaseDirectory, "models", "toy");

    /// <summary>Small enough for CI: a few prompts per generation stage, a few steps per training.</summary>
    public const string TinyConfig = """
        {
          "self_instruct": { "target": 1000, "max_prompts": 4, "batch_size": 2, "max_new_tokens": 256 },
          "tgrt_topics": { "question_types": 3, "epochs": 1, "max_new_tokens": 64 },
          "tgrt_questions": { "max_topics": 10, "max_new_tokens": 160 },
          "self_align": { "max_queries": 6, "max_new_tokens": 96, "identity_examples": 16 },
          "engrave": { "batch": 4, "micro_batch": 4, "lr": 0.003, "warmup": 2, "cutoff": 192, "checkpoint_every": 2 },
          "verbose_clone": { "max_queries": 16, "max_new_tokens": 96, "batch": 2, "micro_batch": 2, "lr": 0.003, "warmup": 2, "cutoff": 256, "checkpoint_every": 2 }
        }
        """;

    public static AlignRequest Request(string run, string config = TinyConfig) =>
        new(ToyModel, run, AlignConfig.Parse(config, "test config"), Seed: 42, Precision: "fp32");

    public static AlignOutcome Run(AlignRequest request, IAlignModels models, Display? display = null, CancellationToken cancel = default) =>
        new AlignPipeline(request, models, display ?? new Display()).Run(cancel);

    /// <summary>Loads the toy; counts loads; with <see cref="CancelAfter"/>, cancels once that many completions came back.</summary>
    public sealed class Models : IAlignModels
    {
        private int _completions;

        public int Opened { get; private set; }
        public int? CancelAfter { get; init; }
        public CancellationTokenSource? Cancel { get; init; }

        public IAlignModel OpenForTraining(FineTune run) => Open(null);

        public IAlignModel Open(string? adapter)
        {
            Opened++;
            var kernels = KernelRegistry.Create("cpu", 2);
            var loaded = adapter is null ? null : LoraAdapter.Load(adapter, LlamaConfig.Load(ToyModel));
            var model = LlamaModel.Load(ToyModel, kernels, new ModelLoadOptions(Precision.Fp32, Adapter: loaded, Engine: new EngineOptions()));
            return new Loaded(kernels, model, TextTokenizer.Load(ToyModel), this);
        }

        private IEnumerable<Completion> Counted(ICompletionEngine engine, IEnumerable<CompletionRequest> requests, CancellationToken cancel)
        {
            foreach (var completion in engine.Complete(requests, cancel))
            {
                cancel.ThrowIfCancellationRequested();
                yield return completion;
                if (++_completions == CancelAfter) Cancel!.Cancel();
            }
        }

        private sealed class Loaded(IKernelSet kernels, LlamaModel model, TextTokenizer tokenizer, Models owner) : IAlignModel, ICompletionEngine
        {
            private BatchedCompletionEngine? _engine;

            public LlamaModel Model => model;
            public TextTokenizer Tokenizer => tokenizer;
            public ICompletionEngine Engine => this;

            public IEnumerable<Completion> Complete(IEnumerable<CompletionRequest> requests, CancellationToken cancel = default) =>
                owner.Counted(_engine ??= new BatchedCompletionEngine(model, tokenizer, new EngineOptions()), requests, cancel);

            public void Dispose()
            {
                _engine?.Dispose();
                model.Dispose();
                kernels.Dispose();
            }
        }
    }

    /// <summary>Silent; with <see cref="CancelAtStep"/>, cancels when a training run reports that step.</summary>
    public sealed class Display : IAlignDisplay
    {
        public int? CancelAtStep { get; init; }
        public CancellationTokenSource? Cancel { get; init; }
        public List<string> Lines { get; } = [];

        public void Say(string line) => Lines.Add(line);

        public T Items<T>(string title, string unit, Func<IProgress<(int Done, int Total)>, T> work) => work(new Progress<(int, int)>());

        public T Training<T>(string title, Func<IProgress<TrainingProgress>, T> work) => work(new StepWatch(this));

        private sealed class StepWatch(Display owner) : IProgress<TrainingProgress>
        {
            public void Report(TrainingProgress value)
            {
                if (value.Metrics.Step == owner.CancelAtStep) owner.Cancel!.Cancel();
            }
        }
    }
}
