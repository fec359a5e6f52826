using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;

namespace Dromedary.Bench;

public enum MatMulKind
{
    Int8Vnni,
    Int8Portable,
    Fp32,
}

/// <summary>y[M, N] = x[M, K] · Wᵀ at LLaMA-7B shapes: M = 1 is a decode step, M = 512 a prefill chunk.</summary>
public sealed record MatMulShape(int M, int K, int N)
{
    public override string ToString() => $"{M}x{K}->{N}";
}

[Config(typeof(Config))]
public class MatMulBenchmarks
{
    public const int Threads = 2;

    private WorkerPool? _pool;
    private Int8Weight? _int8Weight;
    private Fp32Weight? _fp32Weight;
    private Int8MatMul? _int8;
    private Fp32MatMul? _fp32;
    private float[] _x = [];
    private float[] _y = [];

    public static IEnumerable<MatMulShape> Shapes =>
        [new(1, 4096, 4096), new(1, 4096, 11008), new(512, 4096, 4096)];

    [ParamsSource(nameof(Shapes))]
    public MatMulShape Shape { get; set; } = new(1, 1, 1);

    [ParamsAllValues]
    public MatMulKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var (m, k, n) = (Shape.M, Shape.K, Shape.N);
        var w = new float[(long)n * k];
        for (var i = 0; i < w.Length; i++) w[i] = (float)(random.NextDouble() * 2 - 1);
        _x = new float[m * k];
        for (var i = 0; i < _x.Length; i++) _x[i] = (float)(random.NextDouble() * 2 - 1);
        _y = new float[m * n];
        _pool = new WorkerPool(Threads);
        if (Kind == MatMulKind.Fp32)
        {
            _fp32Weight = Fp32Weight.Create(LinearSource.Fp32(w, n, k));
            _fp32 = new Fp32MatMul(_pool);
            return;
        }
        var q = new sbyte[w.Length];
        var scales = new float[n];
        Int8Quantizer.Quantize(w, n, k, k, q, scales);
        _int8Weight = Int8Weight.Create(LinearSource.Int8(q, scales, n, k, k));
        _int8 = new Int8MatMul(_pool, Kind == MatMulKind.Int8Vnni ? Int8Kernel.Vnni : Int8Kernel.Portable);
    }

    [Benchmark]
    public void Forward()
    {
        if (_int8 is not null) _int8.Forward(_x, Shape.M, _int8Weight!, _y);
        else _fp32!.Forward(_x, Shape.M, _fp32Weight!, _y);
    }

    /// <summary>Weight bytes one call streams: what bounds decode.</summary>
    public static long WeightBytes(MatMulShape shape, MatMulKind kind) =>
        (long)shape.N * shape.K * (kind == MatMulKind.Fp32 ? 4 : 1);

    [GlobalCleanup]
    public void Cleanup()
    {
        _int8?.Dispose();
        _fp32?.Dispose();
        _int8Weight?.Dispose();
        _fp32Weight?.Dispose();
        _pool?.Dispose();
        (_int8, _fp32, _int8Weight, _fp32Weight, _pool) = (null, null, null, null, null);
    }

    /// <summary>
    /// Short runs (3 warm-ups, 3 measured iterations) in this process: the peak probe's figures are at
    /// hand for the columns, and nothing is rebuilt while others share the machine.
    /// </summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
            AddColumn(new ThroughputColumn(ThroughputColumn.Measure.Gops), new ThroughputColumn(ThroughputColumn.Measure.PeakFraction),
                new ThroughputColumn(ThroughputColumn.Measure.WeightBandwidth));
        }
    }
}
