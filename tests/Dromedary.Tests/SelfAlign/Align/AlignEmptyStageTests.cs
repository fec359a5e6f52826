using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Align;
using Dromedary.SelfAlign.FineTuning;
using Xunit;

namespace Dromedary.Tests.SelfAlign.Align;

public class AlignEmptyStageTests
{
    /// <summary>A model that answers every prompt with the same line, which no stage-1 parser keeps.</summary>
    private sealed class Mute : IAlignModels, IAlignModel, ICompletionEngine
    {
        public LlamaModel Model => throw new InvalidOperationException("no weights: this model only answers");
        public TextTokenizer Tokenizer { get; } = TextTokenizer.Load(ToyAlign.ToyModel);
        public ICompletionEngine Engine => this;

        public IAlignModel Open(string? adapter) => this;
        public IAlignModel OpenForTraining(FineTune run) => this;

        public IEnumerable<Completion> Complete(IEnumerable<CompletionRequest> requests, CancellationToken cancel = default) =>
            requests.Select(r => new Completion(r.Id, "nothing to see here", [], FinishReason.MaxTokens, 0));

        public void Dispose() { }
    }

    [Fact]
    public void Stage_2_with_nothing_to_answer_stops_the_run_naming_the_empty_stages_and_their_counts()
    {
        using var folder = new TempDirectory();
        var request = ToyAlign.Request(folder["run"]);
        var error = Assert.Throws<DromedaryException>(() => ToyAlign.Run(request, new Mute(), cancel: TestContext.Current.CancellationToken));
        Assert.Contains("stage 1a self-instruct kept no records", error.Message);
        Assert.Contains("stage 1c tgrt-questions kept no records", error.Message);
        Assert.Contains($"\"completions\":{request.Config.OptionalInt(AlignConfig.SelfInstruct, "max_prompts")}", error.Message);
        Assert.Contains("stage 2 self-align has nothing to work on", error.Message);
        Assert.Null(StageMarker.Read(AlignStage.SelfAlign.Path(request.RunDirectory)));
    }
}
