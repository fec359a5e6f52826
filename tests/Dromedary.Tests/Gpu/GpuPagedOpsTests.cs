using Dromedary.Tests.Kernels;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>The ILGPU set's paged store and attention on the CPU accelerator against the CPU set's.</summary>
[Collection(GpuSimulatorCollection.Name)]
public sealed class GpuPagedOpsTests(GpuSimulatorFixture fixture)
{
    /// <summary>
    /// Head dimensions of one and of two output dimensions per thread; a context of 37 spans blocks of 8 within one
    /// tile. Few query rows: the simulator runs each group on 128 OS threads.
    /// </summary>
    [Theory]
    [InlineData(8)]
    [InlineData(136)]
    public void Paged_attention_matches_the_cpu(int headDim)
    {
        var scenario = new PagedAttentionTests.Scenario(headDim, seed: 100 + headDim, queryRows: [2, 1, 3]);
        var expected = scenario.RunPaged(fixture.Cpu);
        var actual = scenario.RunPaged(fixture.Gpu);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs(expected[i] - actual[i]);
            Assert.True(error <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"[{i}] cpu {expected[i]}, ilgpu {actual[i]}");
        }
    }
}
