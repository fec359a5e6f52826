using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Planning;
using Dromedary.Model.Tokenization;
using Dromedary.Runner.Commands;
using Dromedary.SelfAlign.FineTuning;

namespace Dromedary.Runner;

/// <summary>Loads the tokenizer and the model a command asked for, with a progress bar on stderr.</summary>
internal sealed class ModelOpener : IDisposable
{
    private ModelOpener(IKernelSet kernels, LlamaModel model, TextTokenizer tokenizer)
    {
        Kernels = kernels;
        Model = model;
        Tokenizer = tokenizer;
    }

    public IKernelSet Kernels { get; }
    public LlamaModel Model { get; }
    public TextTokenizer Tokenizer { get; }

    /// <param name="engine">The batched engine the command will run, so its memory is planned with the model's.</param>
    public static ModelOpener Open(ModelSettings settings, EngineOptions? engine = null) => Open(settings, engine, null);

    /// <summary>The base model to train <paramref name="run"/> on: the kernel set reserves that run's training plan.</summary>
    public static ModelOpener OpenForTraining(ModelSettings settings, FineTune run) =>
        Open(settings, null, kernels => run.MemoryPlan(kernels, settings.ParsedPrecision, settings.Group));

    private static ModelOpener Open(ModelSettings settings, EngineOptions? engine, Func<IKernelSet, MemoryPlan>? memory)
    {
        var precision = settings.ParsedPrecision;
        var tokenizer = TextTokenizer.Load(settings.Model);
        var adapter = settings.Adapter is { } folder ? LoraAdapter.Load(folder, LlamaConfig.Load(settings.Model)) : null;
        var kernels = KernelRegistry.Create(settings.Kernels, settings.Threads ?? Environment.ProcessorCount);
        try
        {
            var options = new ModelLoadOptions(precision, settings.Group, adapter, Engine: engine, Memory: memory?.Invoke(kernels));
            var model = ProgressDisplay.Run($"loading {Path.GetFileName(Path.GetFullPath(settings.Model))}", "tensors",
                progress => LlamaModel.Load(settings.Model, kernels, options, progress));
            return new ModelOpener(kernels, model, tokenizer);
        }
        catch
        {
            kernels.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Model.Dispose();
        Kernels.Dispose();
    }
}
