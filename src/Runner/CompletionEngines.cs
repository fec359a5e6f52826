using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;

namespace Dromedary.Runner;

/// <summary>The one place commands get a completion engine from, so a faster engine is swapped in here alone.</summary>
internal static class CompletionEngines
{
    public static ICompletionEngine Create(LlamaModel model, TextTokenizer tokenizer) => new SequentialCompletionEngine(model, tokenizer);
}
