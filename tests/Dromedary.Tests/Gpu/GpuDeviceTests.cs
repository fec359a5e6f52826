using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Kernels.Gpu;
using Dromedary.Model.Llama;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>The ILGPU set on the first CUDA device, when there is one; null (and every test skipped) otherwise.</summary>
public sealed class GpuDeviceFixture : IDisposable
{
    public IlgpuKernelSet? Gpu { get; } = IlgpuRuntime.HasCudaDevice() ? new IlgpuKernelSet("ilgpu", IlgpuRuntime.Create()) : null;
    public CpuKernelSet Cpu { get; } = new("cpu", Environment.ProcessorCount, Int8Kernel.Portable);

    public IlgpuKernelSet Require()
    {
        Assert.SkipUnless(Gpu is not null, "no CUDA device");
        return Gpu!;
    }

    public void Dispose()
    {
        Gpu?.Dispose();
        Cpu.Dispose();
    }
}

/// <summary>Every op check of <see cref="GpuOpsTestsBase"/>, on a real GPU.</summary>
public sealed class GpuDeviceOpsTests(GpuDeviceFixture fixture) : GpuOpsTestsBase, IClassFixture<GpuDeviceFixture>
{
    protected override IlgpuKernelSet Gpu => fixture.Require();
    protected override CpuKernelSet Cpu => fixture.Cpu;

    [Fact]
    public void The_device_is_described()
    {
        Assert.True(Gpu.Runtime.IsCuda);
        Assert.Contains("compute capability", Gpu.Description);
    }

    /// <summary>LLaMA-sized heads (32 of 128 over 8 kv heads) at a 1500-token context: prefill rows and a split decode.</summary>
    [Theory]
    [InlineData(64, 1436)]
    [InlineData(1, 1499)]
    public void Attention_matches_the_cpu_at_llama_shapes(int rows, int startPosition)
    {
        var gpu = Gpu;
        const int heads = 32, kvHeads = 8, headDim = 128;
        var context = startPosition + rows;
        var random = new Random(11);
        using var cpuCache = Cpu.AllocateKvCache(1, context, kvHeads, headDim);
        using var gpuCache = gpu.AllocateKvCache(1, context, kvHeads, headDim);
        using (var keys = new Twin(Cpu, gpu, context, kvHeads * headDim, RandomFloats(random, context * kvHeads * headDim)))
        using (var values = new Twin(Cpu, gpu, context, kvHeads * headDim, RandomFloats(random, context * kvHeads * headDim)))
        {
            Cpu.StoreKv(cpuCache, 0, keys.Cpu, values.Cpu, context, 0);
            gpu.StoreKv(gpuCache, 0, keys.Gpu, values.Gpu, context, 0);
        }
        using var queries = new Twin(Cpu, gpu, rows, heads * headDim, RandomFloats(random, rows * heads * headDim));
        using var output = new Twin(Cpu, gpu, rows, heads * headDim);
        Cpu.Attention(queries.Cpu, cpuCache, 0, rows, startPosition, heads, output.Cpu);
        gpu.Attention(queries.Gpu, gpuCache, 0, rows, startPosition, heads, output.Gpu);
        var (expected, actual) = output.Read(rows);
        AssertClose(expected, actual);
    }

    [Fact]
    public void Tiny_model_log_probs_match_the_cpu_set_on_the_device()
    {
        Assert.SkipUnless(IlgpuRuntime.HasCudaDevice(), "no CUDA device");
        GpuModelTests.AssertIlgpuMatchesCpu(Fixtures.ReferenceLogprobs("f32")[3].Tokens, maxChunk: 16);
    }
}
