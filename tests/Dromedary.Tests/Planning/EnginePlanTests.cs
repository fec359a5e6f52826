using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Planning;
using Dromedary.Model.Tokenization;
using Xunit;

namespace Dromedary.Tests.Planning;

/// <summary>The memory plan counts the batched engine's paged cache and step buffers as the engine allocates them.</summary>
public sealed class EnginePlanTests
{
    internal static readonly EngineOptions Options = new() { MaxSequences = 3, KvBlocks = 9, BlockSize = 8, StepTokens = 20, Context = 40 };

    [Fact]
    public void The_plan_counts_what_the_engine_allocates_on_the_cpu_set()
    {
        using var kernels = new CpuKernelSet("cpu", 1, Int8MatMul.Best);
        var folder = Fixtures.TinyLlama("f32");
        using var model = LlamaModel.Load(folder, kernels, new ModelLoadOptions(Precision.Int8, Engine: Options));
        var loaded = kernels.AllocatedBytes;
        using var engine = new BatchedCompletionEngine(model, TextTokenizer.Load(folder), Options);

        var config = LlamaConfig.Load(folder);
        var withEngine = InferencePlanner.Plan(config, kernels, Precision.Int8, 0, sequences: 0, context: 40, chunk: 16, Options);
        var without = InferencePlanner.Plan(config, kernels, Precision.Int8, 0, sequences: 0, context: 40, chunk: 16);

        Assert.Equal(withEngine.Total - without.Total, kernels.AllocatedBytes - loaded);
        Assert.Contains(withEngine.Items, item => item.Name.StartsWith("paged: 9 blocks × 8", StringComparison.Ordinal));
    }
}
