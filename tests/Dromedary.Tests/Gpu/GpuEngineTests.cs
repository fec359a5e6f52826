using Dromedary.Kernels;
using Dromedary.Kernels.Gpu;
using Dromedary.Model.Config;
using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Planning;
using Dromedary.Model.Tokenization;
using Dromedary.Tests.Model;
using Dromedary.Tests.Planning;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>The batched engine through <c>--kernels ilgpu</c> (the simulator here): tiny, since each group is 128 OS threads.</summary>
[Collection(GpuSimulatorCollection.Name)]
public sealed class GpuEngineTests
{
    [Fact]
    public void The_batched_engine_gives_the_sequential_tokens_on_ilgpu()
    {
        using var loaded = ForwardTests.Load("f32", Precision.Int8, kernels: "ilgpu");
        var tokenizer = TextTokenizer.Load(Fixtures.TinyLlama("f32"));
        // Two steps: the first prompt; then its decode row beside the second prompt, which waited for the first
        // one's first block to be computed and shares it.
        var options = new GenerationOptions { MaxNewTokens = 2 };
        CompletionRequest[] requests = [new("a", "Hello world. Hello", options), new("b", "Hello world. Hi", options with { MaxNewTokens = 1 })];

        var expected = new SequentialCompletionEngine(loaded.Model, tokenizer).Complete(requests, TestContext.Current.CancellationToken).ToDictionary(c => c.Id);
        using var engine = new BatchedCompletionEngine(loaded.Model, tokenizer, new EngineOptions { MaxSequences = 2, BlockSize = 4, StepTokens = 16, Context = 32 });
        var actual = engine.Complete(requests, TestContext.Current.CancellationToken).ToDictionary(c => c.Id);

        foreach (var (id, reference) in expected) Assert.Equal(reference.Tokens, actual[id].Tokens);
        Assert.True(engine.Blocks.PrefixHits >= 1);
    }

    [Fact]
    public void Loading_with_an_engine_and_making_it_use_exactly_the_plan()
    {
        using var kernels = (IlgpuKernelSet)KernelRegistry.Create("ilgpu", 1);
        var folder = Fixtures.TinyLlama("f32");
        var before = kernels.Arena.UsedBytes;
        var options = EnginePlanTests.Options;
        using var model = LlamaModel.Load(folder, kernels, new ModelLoadOptions(Precision.Int8, Context: 40, Engine: options));
        using var session = new LlamaSession(model, capacity: 40);
        using var engine = new BatchedCompletionEngine(model, TextTokenizer.Load(folder), options);

        var plan = InferencePlanner.Plan(LlamaConfig.Load(folder), kernels, Precision.Int8, 0, 1, 40, LlamaSession.DefaultChunk, options);

        // The plan's line for the set's own chunk was taken before `before`.
        Assert.Equal(plan.Total - kernels.OwnBytes, kernels.Arena.UsedBytes - before);
    }
}
