using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;

namespace Dromedary.SelfAlign.Align;

/// <summary>How `align` gets its models: the command line's loader (with its options and progress bar), or a test's.</summary>
public interface IAlignModels
{
    /// <summary>The base model, with <paramref name="adapter"/> merged in when given.</summary>
    /// <param name="generate">True when the stage generates (the loader may plan the engine's cache); false to train.</param>
    IAlignModel Open(string? adapter, bool generate);
}

/// <summary>A loaded model, its tokenizer and (for generation) its completion engine.</summary>
public interface IAlignModel : IDisposable
{
    LlamaModel Model { get; }
    TextTokenizer Tokenizer { get; }
    ICompletionEngine Engine { get; }
}
