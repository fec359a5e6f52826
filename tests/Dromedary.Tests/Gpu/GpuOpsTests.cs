using System.Runtime.InteropServices;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Kernels.Gpu;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>
/// Each op of the ILGPU set against the CPU set on the same inputs, at tiny odd shapes (rows and widths that
/// are not multiples of the tiles, more than one group, more than one key tile).
/// Float ops are compared to 1e-5 relative (of max(1, |expected|)): both sets compute in fp32 but sum in
/// different orders (SIMD lanes against warp shuffles and tiles), and the GPU's exp and log are approximations,
/// so results differ by a few ulps of the values summed — well under 1e-5 at these sizes. Copies and
/// conversions must be exact.
/// </summary>
public abstract class GpuOpsTestsBase
{
    private const double Tolerance = 1e-5;

    /// <summary>The set under test; throws xunit's skip where it cannot run.</summary>
    protected abstract IlgpuKernelSet Gpu { get; }

    protected abstract CpuKernelSet Cpu { get; }

    protected static float[] RandomFloats(Random random, int count, double scale = 1)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }

    protected static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs((double)expected[i] - actual[i]);
            Assert.True(error <= Tolerance * Math.Max(1, Math.Abs(expected[i])), $"[{i}] cpu {expected[i]}, ilgpu {actual[i]}");
        }
    }

    protected static void AssertBitwiseEqual(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]), $"[{i}] cpu {expected[i]}, ilgpu {actual[i]}");
    }

    /// <summary>The same activation in both sets.</summary>
    protected sealed class Twin : IDisposable
    {
        private readonly IKernelSet _cpuSet, _gpuSet;

        public Twin(IKernelSet cpu, IKernelSet gpu, int rows, int cols, float[]? values = null)
        {
            (_cpuSet, _gpuSet) = (cpu, gpu);
            Cpu = cpu.AllocateActivation(rows, cols);
            Gpu = gpu.AllocateActivation(rows, cols);
            if (values is null) return;
            cpu.Upload(values, Cpu);
            gpu.Upload(values, Gpu);
        }

        public Activation Cpu { get; }
        public Activation Gpu { get; }

        public (float[] Cpu, float[] Gpu) Read(int rows)
        {
            var cpu = new float[rows * Cpu.Cols];
            var gpu = new float[rows * Gpu.Cols];
            _cpuSet.Download(Cpu, rows, cpu);
            _gpuSet.Download(Gpu, rows, gpu);
            return (cpu, gpu);
        }

        public void Dispose()
        {
            Cpu.Dispose();
            Gpu.Dispose();
        }
    }

    private Twin Make(int rows, int cols, float[]? values = null) => new(Cpu, Gpu, rows, cols, values);

    [Fact]
    public void Upload_download_and_copy_rows_are_exact()
    {
        var values = RandomFloats(new Random(1), 5 * 9);
        using var source = Make(5, 9, values);
        using var target = Make(6, 9, RandomFloats(new Random(2), 6 * 9));
        Cpu.CopyRows(source.Cpu, 1, target.Cpu, 3, 2);
        Gpu.CopyRows(source.Gpu, 1, target.Gpu, 3, 2);
        var (cpu, gpu) = target.Read(6);
        AssertBitwiseEqual(cpu, gpu);
        AssertBitwiseEqual(values, source.Read(5).Gpu);
        Assert.Equal(values.AsSpan(9, 18).ToArray(), gpu.AsSpan(27, 18).ToArray());
    }

    [Theory]
    [InlineData(ScalarType.F32)]
    [InlineData(ScalarType.F16)]
    [InlineData(ScalarType.BF16)]
    public void Embedding_widens_each_stored_type_exactly(ScalarType type)
    {
        const int vocabulary = 7, cols = 5;
        var values = RandomFloats(new Random(3), vocabulary * cols, 4);
        values[0] = 3e-6f; // an F16 subnormal
        values[1] = -0f;
        values[2] = 70000f; // beyond F16: infinity
        var bytes = new byte[values.Length * type.SizeOf()];
        ScalarConvert.FromFloat(values, type, bytes);
        using var cpuTable = Cpu.CreateEmbedding(bytes, type, vocabulary, cols);
        using var gpuTable = Gpu.CreateEmbedding(bytes, type, vocabulary, cols);
        int[] tokens = [3, 0, 6, 3];
        using var output = Make(5, cols);
        Cpu.Embedding(cpuTable, tokens, output.Cpu);
        Gpu.Embedding(gpuTable, tokens, output.Gpu);
        var (cpu, gpu) = output.Read(tokens.Length);
        AssertBitwiseEqual(cpu, gpu);
    }

    [Fact]
    public void RmsNorm_matches_the_cpu()
    {
        const int rows = 3, cols = 150;
        var random = new Random(4);
        using var input = Make(rows, cols, RandomFloats(random, rows * cols, 3));
        using var output = Make(rows, cols);
        var weights = RandomFloats(random, cols, 2);
        using var cpuWeight = Cpu.CreateVector(weights);
        using var gpuWeight = Gpu.CreateVector(weights);
        Cpu.RmsNorm(input.Cpu, cpuWeight, 1e-6f, rows, output.Cpu);
        Gpu.RmsNorm(input.Gpu, gpuWeight, 1e-6f, rows, output.Gpu);
        var (cpu, gpu) = output.Read(rows);
        AssertClose(cpu, gpu);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    public void Linear_matches_the_cpu(int rows)
    {
        const int inputs = 37, outputs = 70;
        var random = new Random(5 + rows);
        var weights = RandomFloats(random, outputs * inputs);
        using var cpuWeight = Cpu.CreateLinear(LinearSource.Fp32(weights, outputs, inputs));
        using var gpuWeight = Gpu.CreateLinear(LinearSource.Fp32(weights, outputs, inputs));
        using var input = Make(rows, inputs, RandomFloats(random, rows * inputs));
        using var output = Make(rows, outputs);
        Cpu.Linear(input.Cpu, cpuWeight, rows, output.Cpu);
        Gpu.Linear(input.Gpu, gpuWeight, rows, output.Gpu);
        var (cpu, gpu) = output.Read(rows);
        AssertClose(cpu, gpu);
    }

    [Fact]
    public void Rope_matches_the_cpu()
    {
        const int rows = 3, heads = 2, headDim = 8;
        int[] positions = [5, 0, 15];
        using var cpuTable = Cpu.CreateRope(headDim, 10000, 16);
        using var gpuTable = Gpu.CreateRope(headDim, 10000, 16);
        using var x = Make(rows, heads * headDim, RandomFloats(new Random(6), rows * heads * headDim));
        Cpu.Rope(x.Cpu, rows, heads, cpuTable, positions);
        Gpu.Rope(x.Gpu, rows, heads, gpuTable, positions);
        var (cpu, gpu) = x.Read(rows);
        AssertClose(cpu, gpu);
    }

    /// <summary>
    /// Prefill from the start and continuing a cache, decode in one piece and split over the context (300 keys:
    /// two pieces), and a head dimension over 128 (two output dimensions per thread).
    /// </summary>
    [Theory]
    [InlineData(7, 0, 8)]
    [InlineData(3, 4, 8)]
    [InlineData(1, 5, 8)]
    [InlineData(1, 299, 8)]
    [InlineData(2, 1, 136)]
    public void Attention_matches_the_cpu(int rows, int startPosition, int headDim)
    {
        const int heads = 4, kvHeads = 2, layers = 2, layer = 1;
        var context = startPosition + rows;
        var random = new Random(7 + startPosition);
        using var cpuCache = Cpu.AllocateKvCache(layers, context + 1, kvHeads, headDim);
        using var gpuCache = Gpu.AllocateKvCache(layers, context + 1, kvHeads, headDim);
        using (var keys = Make(context, kvHeads * headDim, RandomFloats(random, context * kvHeads * headDim)))
        using (var values = Make(context, kvHeads * headDim, RandomFloats(random, context * kvHeads * headDim)))
        {
            Cpu.StoreKv(cpuCache, layer, keys.Cpu, values.Cpu, context, 0);
            Gpu.StoreKv(gpuCache, layer, keys.Gpu, values.Gpu, context, 0);
        }
        using var queries = Make(rows, heads * headDim, RandomFloats(random, rows * heads * headDim, 2));
        using var output = Make(rows, heads * headDim);
        Cpu.Attention(queries.Cpu, cpuCache, layer, rows, startPosition, heads, output.Cpu);
        Gpu.Attention(queries.Gpu, gpuCache, layer, rows, startPosition, heads, output.Gpu);
        var (cpu, gpu) = output.Read(rows);
        AssertClose(cpu, gpu);
    }

    [Fact]
    public void SwiGlu_matches_the_cpu()
    {
        const int rows = 2, cols = 75;
        var random = new Random(8);
        var gates = RandomFloats(random, rows * cols, 8);
        gates[0] = -100;
        gates[1] = 100;
        gates[2] = 0;
        using var gate = Make(rows, cols, gates);
        using var up = Make(rows, cols, RandomFloats(random, rows * cols, 3));
        using var output = Make(rows, cols);
        Cpu.SwiGlu(gate.Cpu, up.Cpu, rows, output.Cpu);
        Gpu.SwiGlu(gate.Gpu, up.Gpu, rows, output.Gpu);
        var (cpu, gpu) = output.Read(rows);
        AssertClose(cpu, gpu);
    }

    [Fact]
    public void Add_matches_the_cpu_exactly()
    {
        const int rows = 3, cols = 50;
        var random = new Random(9);
        using var residual = Make(rows + 1, cols, RandomFloats(random, (rows + 1) * cols));
        using var delta = Make(rows + 1, cols, RandomFloats(random, (rows + 1) * cols));
        Cpu.Add(residual.Cpu, delta.Cpu, rows);
        Gpu.Add(residual.Gpu, delta.Gpu, rows);
        var (cpu, gpu) = residual.Read(rows + 1);
        AssertBitwiseEqual(cpu, gpu);
    }

    [Fact]
    public void LogSoftmax_matches_the_cpu()
    {
        const int rows = 3, cols = 300;
        using var logits = Make(rows, cols, RandomFloats(new Random(10), rows * cols, 10));
        Cpu.LogSoftmax(logits.Cpu, rows);
        Gpu.LogSoftmax(logits.Gpu, rows);
        var (cpu, gpu) = logits.Read(rows);
        AssertClose(cpu, gpu);
    }

    [Fact]
    public void Bad_inputs_are_refused_before_any_launch()
    {
        using var table = Gpu.CreateEmbedding(new byte[3 * 4 * 4], ScalarType.F32, 3, 4);
        using var rows = Gpu.AllocateActivation(2, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gpu.Embedding(table, [1, 3], rows));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gpu.Embedding(table, [0, 1, 2], rows));
        using var rope = Gpu.CreateRope(4, 10000, 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gpu.Rope(rows, 2, 1, rope, [0, 8]));
        using var cache = Gpu.AllocateKvCache(1, 2, 1, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gpu.StoreKv(cache, 0, rows, rows, 2, 1));
    }
}

/// <summary>One simulator set and one CPU set for the whole collection: the kernels are compiled once.</summary>
public sealed class GpuSimulatorFixture : IDisposable
{
    public IlgpuKernelSet Gpu { get; } = new("ilgpu", IlgpuRuntime.CreateSimulator());
    public CpuKernelSet Cpu { get; } = new("cpu", 2, Int8Kernel.Portable);

    public void Dispose()
    {
        Gpu.Dispose();
        Cpu.Dispose();
    }
}

/// <summary>The simulator tests run one at a time: each simulated group is 128 OS threads.</summary>
[CollectionDefinition(Name)]
public sealed class GpuSimulatorCollection : ICollectionFixture<GpuSimulatorFixture>
{
    public const string Name = "Gpu simulator";
}

/// <summary>The ops on ILGPU's CPU accelerator (warps of 32).</summary>
[Collection(GpuSimulatorCollection.Name)]
public sealed class GpuOpsTests(GpuSimulatorFixture fixture) : GpuOpsTestsBase
{
    protected override IlgpuKernelSet Gpu => fixture.Gpu;
    protected override CpuKernelSet Cpu => fixture.Cpu;

    [Fact]
    public void The_simulator_has_cuda_warps()
    {
        var accelerator = Gpu.Runtime.Accelerator;
        Assert.Equal(32, accelerator.WarpSize);
        Assert.Equal(GpuGroup.Size, accelerator.MaxNumThreadsPerGroup);
        Assert.False(Gpu.Runtime.IsCuda);
        Assert.Contains("simulation", Gpu.Description);
    }
}
