using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Planning;
using Xunit;

namespace Dromedary.Tests.Planning;

public class InferencePlannerTests
{
    [Theory]
    [InlineData(Precision.Int8, 0)]
    [InlineData(Precision.Int8, 128)]
    [InlineData(Precision.Fp32, 0)]
    public void The_plan_equals_what_the_cpu_set_allocates(Precision precision, int group)
    {
        using var kernels = new CpuKernelSet("cpu", 1, Int8MatMul.Best);
        var folder = Fixtures.TinyLlama("f32");
        using var model = LlamaModel.Load(folder, kernels, new ModelLoadOptions(precision, group));
        var loaded = kernels.AllocatedBytes;
        using var session = new LlamaSession(model, capacity: 40, maxChunk: 16);

        var plan = InferencePlanner.Plan(LlamaConfig.Load(folder), kernels, precision, group, sequences: 1, context: 40, chunk: 16);
        var planned = InferencePlanner.Plan(LlamaConfig.Load(folder), kernels, precision, group, sequences: 0, context: 40, chunk: 16);

        Assert.Equal(planned.Total, loaded);
        Assert.Equal(plan.Total, kernels.AllocatedBytes);
    }

    [Fact]
    public void Llama_65b_in_int8_fits_one_141_gb_gpu_and_in_fp32_does_not()
    {
        using var kernels = new CpuKernelSet("cpu", 1, Int8MatMul.Best);
        var config = ModelPresets.Resolve("llama-65b");
        var int8 = InferencePlanner.Plan(config, kernels, Precision.Int8, 0, 1, 2048, 128);
        int8.EnsureFits(MemoryPlan.ParseSize("141GB"), "an H200");
        // 65.2e9 linear weights at a byte each plus their scales, give or take padding.
        var weights = int8.ByCategory().Single(c => c.Category == "weights").Bytes;
        Assert.InRange(weights, 64e9, 68e9);

        var fp32 = InferencePlanner.Plan(config, kernels, Precision.Fp32, 0, 1, 2048, 128);
        var error = Assert.Throws<DromedaryException>(() => fp32.EnsureFits(MemoryPlan.ParseSize("141GB"), "an H200"));
        Assert.Contains("needs", error.Message);
    }

    [Theory]
    [InlineData("141GB", 141L << 30)]
    [InlineData("80GiB", 80L << 30)]
    [InlineData("512MB", 512L << 20)]
    [InlineData("1.5GB", 3L << 29)]
    public void Sizes_parse(string text, long bytes) => Assert.Equal(bytes, MemoryPlan.ParseSize(text));

    [Fact]
    public void A_bad_size_is_a_clean_error() =>
        Assert.Contains("not a memory size", Assert.Throws<DromedaryException>(() => MemoryPlan.ParseSize("lots")).Message);
}
