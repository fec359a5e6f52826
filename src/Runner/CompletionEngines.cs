using Dromedary.Model.Generation;

namespace Dromedary.Runner;

/// <summary>The one place the stages' completion engine is chosen.</summary>
internal static class CompletionEngines
{
    public static ICompletionEngine Create(ModelOpener opened) => new SequentialCompletionEngine(opened.Model, opened.Tokenizer);
}
