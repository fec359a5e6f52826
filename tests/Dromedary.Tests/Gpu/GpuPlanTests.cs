using Dromedary.Kernels;
using Dromedary.Kernels.Gpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Planning;
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

        Assert.Equal(plan.Total, kernels.Arena.UsedBytes - before);
    }

    [Fact]
    public void A_plan_larger_than_the_device_is_refused_with_the_sizes()
    {
        using var kernels = KernelRegistry.Create("ilgpu", 1);
        var error = Assert.Throws<DromedaryException>(() => kernels.ReserveMemory(long.MaxValue / 2));
        Assert.Contains("MiB", error.Message);
    }
}
