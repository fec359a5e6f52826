using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.FineTuning;

namespace Dromedary.SelfAlign.Align;

/// <summary>How `align` gets its models: the command line's loader (with its options and progress bar), or a test's.</summary>
public interface IAlignModels
{
    /// <summary>The base model, with <paramref name="adapter"/> merged in when given, to generate with (the loader may plan the engine's cache).</summary>
    IAlignModel Open(string? adapter);

    /// <summary>The base model to train <paramref name="run"/> on, its memory planned for that run's step (<see cref="FineTune.MemoryPlan"/>).</summary>
    IAlignModel OpenForTraining(FineTune run);
}

/// <summary>A loaded model, its tokenizer and (for generation) its completion engine.</summary>
public interface IAlignModel : IDisposable
{
    LlamaModel Model { get; }
    TextTokenizer Tokenizer { get; }
    ICompletionEngine Engine { get; }
}
