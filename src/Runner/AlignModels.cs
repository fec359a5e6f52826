using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Dromedary.Runner.Commands;
using Dromedary.SelfAlign.Align;

namespace Dromedary.Runner;

/// <summary>align's models as the command line loads them: ModelOpener (with its progress bar) and the batched engine.</summary>
internal sealed class AlignModels(Func<string?, ModelSettings> settingsFor) : IAlignModels
{
    public IAlignModel Open(string? adapter, bool generate)
    {
        var settings = settingsFor(adapter);
        return new Opened(ModelOpener.Open(settings, generate ? settings.Engine : null), settings);
    }

    private sealed class Opened(ModelOpener opened, ModelSettings settings) : IAlignModel
    {
        private ICompletionEngine? _engine;

        public LlamaModel Model => opened.Model;
        public TextTokenizer Tokenizer => opened.Tokenizer;
        public ICompletionEngine Engine => _engine ??= CompletionEngines.Create(opened, settings);

        public void Dispose()
        {
            (_engine as IDisposable)?.Dispose();
            opened.Dispose();
        }
    }
}
