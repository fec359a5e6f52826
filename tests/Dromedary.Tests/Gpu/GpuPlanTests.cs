using Dromedary.Kernels;
using Dromedary.Kernels.Gpu;
using Dromedary.Model.Config;
using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Dromedary.Model.Planning;
using Dromedary.Model.Tokenization;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>The ilgpu set takes exactly the plan's bytes from its arena (the simulator here).</summary>
public sealed class GpuPlanTests
{
    [Theory]
    [InlineData(Precision.Int8, 0)]
    [InlineData(Precision.Int8, 128)]
    [InlineData(Precision.Fp32, 0)]
    public void Loading_and_a_planned_session_use_exactly_the_plan(Precision precision, int group)
    {
        using var kernels = (IlgpuKernelSet)KernelRegistry.Create("ilgpu", 1);
        var folder = Fixtures.TinyLlama("f32");
        var before = kernels.Arena.UsedBytes;
        using var model = LlamaModel.Load(folder, kernels, new ModelLoadOptions(precision, group, Context: 40));
        using var session = new LlamaSession(model, capacity: 40);

        var plan = InferencePlanner.Plan(LlamaConfig.Load(folder), kernels, precision, group, 1, 40, LlamaSession.DefaultChunk);

        Assert.Equal(plan.Total - kernels.OwnBytes, kernels.Arena.UsedBytes - before);
    }

    /// <summary>
    /// The inference plan counts the int8 matmul's activation scratch (a session's 40-row chunks, padded to a
    /// 64-row tile, by the widest input's 128-column blocks) as a line of its own, only for int8 weights; the set
    /// reserves exactly the plan in one piece, and a generation runs in it without taking more from the driver.
    /// </summary>
    [Theory]
    [InlineData(Precision.Int8)]
    [InlineData(Precision.Fp32)]
    public void The_plan_counts_the_int8_scratch_and_generation_runs_in_the_fixed_arena(Precision precision)
    {
        using var kernels = (IlgpuKernelSet)KernelRegistry.Create("ilgpu", 1);
        var folder = Fixtures.TinyLlama("f32");
        var config = LlamaConfig.Load(folder);
        var plan = InferencePlanner.Plan(config, kernels, precision, 0, 1, 40, LlamaSession.DefaultChunk);
        var scratch = plan.Items.Where(i => i.Name.StartsWith("int8 activation scratch", StringComparison.Ordinal)).ToList();
        if (precision == Precision.Int8)
        {
            var blocks = (Math.Max(config.HiddenSize, config.IntermediateSize) + 127) / 128;
            Assert.Equal(DeviceArena.RoundUp(64L * blocks * 128) + DeviceArena.RoundUp(64L * blocks * sizeof(float)), scratch.Single().Bytes);
        }
        else Assert.Empty(scratch);

        Assert.Equal(kernels.OwnBytes, plan.Items.Single(i => i.Name.StartsWith("the kernel set's own", StringComparison.Ordinal)).Bytes);
        using var model = LlamaModel.Load(folder, kernels, new ModelLoadOptions(precision, Context: 40));
        Assert.Equal(plan.Total, kernels.Arena.ReservedBytes);
        var result = TextGeneration.Run(model, TextTokenizer.Load(folder), "Hello world.", new GenerationOptions { MaxNewTokens = 3 });
        Assert.NotEmpty(result.Tokens);
        Assert.Equal(plan.Total, kernels.Arena.ReservedBytes);
    }

    [Fact]
    public void The_cpu_set_plans_no_int8_scratch()
    {
        using var kernels = KernelRegistry.Create("cpu", 1);
        var plan = InferencePlanner.Plan(Fixtures.TinyModelConfig, kernels, Precision.Int8, 0, 1, 40, LlamaSession.DefaultChunk);
        Assert.NotNull(plan.Int8);
        Assert.DoesNotContain(plan.Items, i => i.Name.StartsWith("int8 activation scratch", StringComparison.Ordinal));
    }

    [Fact]
    public void A_plan_larger_than_the_device_is_refused_with_the_sizes()
    {
        using var kernels = KernelRegistry.Create("ilgpu", 1);
        var error = Assert.Throws<DromedaryException>(() => kernels.ReserveMemory(long.MaxValue / 2, null));
        Assert.Contains("MiB", error.Message);
    }
}
