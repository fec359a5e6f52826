using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Dromedary.Bench;

/// <summary>
/// GOP/s = 2·M·N·K / median time; % of peak against <see cref="PeakProbe"/> (vpdpbusd for int8 kinds, zmm FMA
/// for fp32); GB/s of weights streamed, which is the bound for decode.
/// </summary>
public sealed class ThroughputColumn(ThroughputColumn.Measure measure) : IColumn
{
    public enum Measure
    {
        Gops,
        PeakFraction,
        WeightBandwidth,
    }

    public string Id => $"{nameof(ThroughputColumn)}.{measure}";

    public string ColumnName => measure switch
    {
        Measure.Gops => "GOP/s",
        Measure.PeakFraction => "% peak",
        _ => "weights GB/s",
    };

    public string Legend => measure switch
    {
        Measure.Gops => "2·M·N·K operations per second (median time), in billions",
        Measure.PeakFraction => "GOP/s over the measured peak (int8: vpdpbusd ymm, fp32: FMA zmm) on the same threads",
        _ => "weight bytes read per second, in billions",
    };

    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => (int)measure;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (summary[benchmarkCase]?.ResultStatistics is not { } statistics) return "-";
        if (benchmarkCase.Parameters["Shape"] is not MatMulShape shape || benchmarkCase.Parameters["Kind"] is not MatMulKind kind) return "?";
        // The median resists the other tenants of a shared machine better than the mean.
        var nanoseconds = statistics.Median;
        var gops = 2.0 * shape.M * shape.N * shape.K / nanoseconds;
        switch (measure)
        {
            case Measure.Gops:
                return gops.ToString("F1");
            case Measure.PeakFraction:
                var peak = kind == MatMulKind.Fp32 ? PeakProbe.Fp32Gflops : PeakProbe.Int8Gops;
                return peak > 0 ? (gops / peak).ToString("P1") : "-";
            default:
                return (MatMulBenchmarks.WeightBytes(shape, kind) / nanoseconds).ToString("F1");
        }
    }
}
