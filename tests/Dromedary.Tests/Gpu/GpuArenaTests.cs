using Dromedary.Kernels.Gpu;
using ILGPU.Runtime;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>The device arena's bookkeeping, on the simulator's memory.</summary>
[Collection(GpuSimulatorCollection.Name)]
public sealed class GpuArenaTests(GpuSimulatorFixture fixture)
{
    private Accelerator Accelerator => fixture.Gpu.Runtime.Accelerator;

    [Fact]
    public void Blocks_do_not_overlap()
    {
        using var arena = new DeviceArena(Accelerator);
        int[] lengths = [10, 100, 7, 64];
        var blocks = lengths.Select(length => arena.Allocate<int>(length)).ToArray();
        for (var b = 0; b < blocks.Length; b++) blocks[b].View.CopyFromCPU(Enumerable.Repeat(b + 1, lengths[b]).ToArray());
        for (var b = 0; b < blocks.Length; b++)
        {
            Assert.Equal(lengths[b], blocks[b].Length);
            Assert.All(blocks[b].View.GetAsArray(), value => Assert.Equal(b + 1, value));
        }
    }

    [Fact]
    public void Freed_blocks_are_reused_instead_of_growing()
    {
        using var arena = new DeviceArena(Accelerator);
        for (var session = 0; session < 5; session++)
        {
            using var a = arena.Allocate<float>(1000);
            using var b = arena.Allocate<float>(3000);
            using var c = arena.Allocate<float>(DeviceArena.ChunkBytes / 8);
        }
        Assert.Equal(DeviceArena.ChunkBytes, arena.ReservedBytes);
        Assert.Equal(0, arena.UsedBytes);
    }

    [Fact]
    public void A_sized_arena_merges_freed_neighbours_and_refuses_to_grow()
    {
        using var arena = new DeviceArena(Accelerator, 3 * DeviceArena.Alignment);
        var a = arena.Allocate<byte>(DeviceArena.Alignment);
        var b = arena.Allocate<byte>(1);
        var c = arena.Allocate<byte>(DeviceArena.Alignment);
        Assert.Throws<DromedaryException>(() => arena.Allocate<byte>(1));
        a.Dispose();
        c.Dispose();
        Assert.Throws<DromedaryException>(() => arena.Allocate<byte>(2 * DeviceArena.Alignment));
        b.Dispose();
        b.Dispose(); // idempotent
        using var whole = arena.Allocate<byte>(3 * DeviceArena.Alignment);
        Assert.Equal(3 * DeviceArena.Alignment, arena.ReservedBytes);
    }
}
