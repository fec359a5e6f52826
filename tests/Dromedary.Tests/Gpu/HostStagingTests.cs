using Dromedary.Kernels;
using Dromedary.Kernels.Gpu;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>
/// Uploads through the pinned staging halves on ILGPU's CPU accelerator, at sizes that need several sends so the
/// alternation of halves and the waits between them are exercised; what lands must equal the source byte for byte.
/// </summary>
public sealed class HostStagingTests : IDisposable
{
    private readonly Context _context = Context.Create(builder => builder.CPU(new CPUDevice(32, 4, 1)));
    private readonly Accelerator _accelerator;

    public HostStagingTests() => _accelerator = _context.CreateCPUAccelerator(0);

    public void Dispose()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }

    [Fact]
    public void A_span_of_several_halves_and_a_ragged_tail_lands_whole()
    {
        var values = new float[(2 * HostStaging.HalfBytes + HostStaging.HalfBytes / 2) / sizeof(float) + 7];
        var random = new Random(3);
        for (var i = 0; i < values.Length; i++) values[i] = random.NextSingle() - 0.5f;
        using var staging = new HostStaging(_accelerator);
        using var target = _accelerator.Allocate1D<float>(values.Length + 5);
        target.MemSetToZero();

        staging.Upload<float>(values, target.View);

        var landed = target.GetAsArray1D();
        Assert.Equal(values, landed[..values.Length]);
        Assert.All(landed[values.Length..], v => Assert.Equal(0f, v));
    }

    [Fact]
    public void An_int8_weight_spanning_several_sends_is_packed_row_by_row_with_zero_padding()
    {
        // 200 columns pad to 256 bytes a row, so a half holds 32,768 rows; 70,001 rows take three sends.
        const int cols = 200, rows = 70_001;
        var quantized = new sbyte[rows * cols];
        for (var i = 0; i < quantized.Length; i++) quantized[i] = (sbyte)(i * 37 % 255 - 127);
        var scales = Enumerable.Range(0, rows).Select(r => 1f + r).ToArray();
        using var arena = new DeviceArena(_accelerator);
        using var staging = new HostStaging(_accelerator);

        using var weight = GpuInt8Weight.Create(arena, staging, LinearSource.Int8(quantized, scales, rows, cols, cols));

        var packed = new int[weight.Values.Length];
        weight.Values.CopyToCPU(packed);
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(packed.AsSpan());
        Assert.Equal(256, weight.PaddedCols);
        for (var r = 0; r < weight.PaddedRows; r++)
        {
            var row = bytes.Slice(r * 256, 256);
            for (var c = 0; c < 256; c++)
            {
                var expected = r < rows && c < cols ? quantized[r * cols + c] : 0;
                if ((sbyte)row[c] != expected) Assert.Fail($"row {r}, column {c}: {(sbyte)row[c]} instead of {expected}");
            }
        }
        var landedScales = new float[weight.Scales.Length];
        weight.Scales.CopyToCPU(landedScales);
        Assert.Equal(scales, landedScales[..rows]);
    }
}
