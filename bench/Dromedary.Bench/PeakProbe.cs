using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Dromedary.Kernels;

namespace Dromedary.Bench;

/// <summary>
/// This machine's arithmetic peak, measured rather than looked up (clock speeds of cloud vCPUs vary): every
/// thread runs a loop of 12 independent register-only vpdpbusd ymm (32 multiply-adds = 64 ops each) or
/// 12 FMA zmm (32 flops each), enough chains to cover the instructions' latency at full throughput.
/// </summary>
public static class PeakProbe
{
    private const int Chains = 12;
    private static long s_sink;

    public static double Int8Gops { get; private set; }
    public static double Fp32Gflops { get; private set; }

    public static void Measure(int threads)
    {
        using var pool = new WorkerPool(threads);
        if (AvxVnni.IsSupported) Int8Gops = Rate(pool, threads, Vnni, Chains * 64);
        if (Vector512.IsHardwareAccelerated) Fp32Gflops = Rate(pool, threads, Fma512, Chains * 32);
    }

    /// <summary>
    /// Operations per nanosecond over all threads: the best of several short runs, since the other tenants of a
    /// shared machine can only slow a run down. Fully optimized from the start, so no run is tier-0 code.
    /// </summary>
    private static double Rate(WorkerPool pool, int threads, Func<long, long> loop, int opsPerIteration)
    {
        const long iterations = 10_000_000;
        var body = new Action<int, int>((start, end) =>
        {
            for (var i = start; i < end; i++) Interlocked.Add(ref s_sink, loop(iterations));
        });
        var best = 0.0;
        for (var run = 0; run < 8; run++)
        {
            var watch = Stopwatch.StartNew();
            pool.For(threads, 1, body);
            best = Math.Max(best, (double)threads * iterations * opsPerIteration / watch.Elapsed.TotalNanoseconds);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Vnni(long iterations)
    {
        var u = Vector256.Create((byte)(iterations | 1));
        var s = Vector256.Create((sbyte)3);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector256<int> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        for (var i = 0L; i < iterations; i++)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, u, s);
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, u, s);
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, u, s);
            a3 = AvxVnni.MultiplyWideningAndAdd(a3, u, s);
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, u, s);
            a5 = AvxVnni.MultiplyWideningAndAdd(a5, u, s);
            a6 = AvxVnni.MultiplyWideningAndAdd(a6, u, s);
            a7 = AvxVnni.MultiplyWideningAndAdd(a7, u, s);
            a8 = AvxVnni.MultiplyWideningAndAdd(a8, u, s);
            a9 = AvxVnni.MultiplyWideningAndAdd(a9, u, s);
            a10 = AvxVnni.MultiplyWideningAndAdd(a10, u, s);
            a11 = AvxVnni.MultiplyWideningAndAdd(a11, u, s);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Fma512(long iterations)
    {
        var x = Vector512.Create(1f + 1f / iterations);
        var y = Vector512.Create(1e-9f);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector512<float> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        for (var i = 0L; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, x, y);
            a1 = Vector512.FusedMultiplyAdd(a1, x, y);
            a2 = Vector512.FusedMultiplyAdd(a2, x, y);
            a3 = Vector512.FusedMultiplyAdd(a3, x, y);
            a4 = Vector512.FusedMultiplyAdd(a4, x, y);
            a5 = Vector512.FusedMultiplyAdd(a5, x, y);
            a6 = Vector512.FusedMultiplyAdd(a6, x, y);
            a7 = Vector512.FusedMultiplyAdd(a7, x, y);
            a8 = Vector512.FusedMultiplyAdd(a8, x, y);
            a9 = Vector512.FusedMultiplyAdd(a9, x, y);
            a10 = Vector512.FusedMultiplyAdd(a10, x, y);
            a11 = Vector512.FusedMultiplyAdd(a11, x, y);
        }
        return (long)Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
