using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Dromedary.Runner.Commands;
using Dromedary.SelfAlign.Align;
using Dromedary.SelfAlign.FineTuning;

namespace Dromedary.Runner;

/// <summary>align's models as the command line loads them: ModelOpener (with its progress bar) and the batched engine.</summary>
internal sealed class AlignModels(Func<string?, ModelSettings> settingsFor) : IAlignModels
{
    public IAlignModel Open(string? adapter)
    {
        var settings = settingsFor(adapter);
        return new Opened(ModelOpener.Open(settings, settings.Engine), settings);
    }

    public IAlignModel OpenForTraining(FineTune run)
    {
        var settings = settingsFor(null);
        return new Opened(ModelOpener.OpenForTraining(settings, run), settings);
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
