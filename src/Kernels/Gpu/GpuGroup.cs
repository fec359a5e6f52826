using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace Dromedary.Kernels.Gpu;

/// <summary>
/// The thread-group shape every kernel of the ILGPU set is written for, the launch size that goes with it, and
/// the group-wide reductions the row kernels share.
/// </summary>
public static class GpuGroup
{
    public const int WarpSize = 32;

    /// <summary>
    /// Threads per group: four warps, enough to hide latency in these memory-bound kernels, and small enough for
    /// the CPU simulator, which runs one OS thread per GPU thread.
    /// </summary>
    public const int Size = 128;

    public const int Warps = Size / WarpSize;

    /// <summary>
    /// A launch of one group per unit of work, capped at the groups the device keeps resident at once; kernels
    /// loop over the remaining units (grid-stride), so any count works.
    /// </summary>
    public static KernelConfig Launch(Accelerator accelerator, long units)
    {
        var resident = (long)accelerator.NumMultiprocessors * Math.Max(1, accelerator.MaxNumThreadsPerMultiprocessor / Size);
        return new KernelConfig((int)Math.Clamp(units, 1, resident), Size);
    }

    /// <summary>A launch for <paramref name="elements"/> independent elements, one thread each (grid-stride).</summary>
    public static KernelConfig LaunchPerElement(Accelerator accelerator, long elements) =>
        Launch(accelerator, (elements + Size - 1) / Size);

    /// <summary>This thread's index in the whole grid, as a long for grid-stride loops over long ranges.</summary>
    public static long GlobalIndex => (long)Grid.IdxX * Group.DimX + Group.IdxX;

    public static long GlobalStride => (long)Grid.DimX * Group.DimX;

    /// <summary>
    /// The sum of <paramref name="value"/> over the group, returned to every thread: all add the warps' partial
    /// sums in the same order, so all get the same bits without a broadcast. One barrier, which also publishes
    /// any shared memory written before the call. <paramref name="scratch"/> (shared, <see cref="Warps"/> floats)
    /// is read after that barrier, so it may be written again only after the group's next barrier: consecutive
    /// reductions take turns with two scratch buffers (<see cref="Turn"/>).
    /// </summary>
    public static float Sum(float value, ArrayView<float> scratch)
    {
        value += Warp.ShuffleXor(value, 16);
        value += Warp.ShuffleXor(value, 8);
        value += Warp.ShuffleXor(value, 4);
        value += Warp.ShuffleXor(value, 2);
        value += Warp.ShuffleXor(value, 1);
        if (Warp.IsFirstLane) scratch[Warp.WarpIdx] = value;
        Group.Barrier();
        var total = scratch[0];
        for (var w = 1; w < Warps; w++) total += scratch[w];
        return total;
    }

    /// <summary>The maximum of <paramref name="value"/> over the group; as <see cref="Sum"/>.</summary>
    public static float Max(float value, ArrayView<float> scratch)
    {
        value = XMath.Max(value, Warp.ShuffleXor(value, 16));
        value = XMath.Max(value, Warp.ShuffleXor(value, 8));
        value = XMath.Max(value, Warp.ShuffleXor(value, 4));
        value = XMath.Max(value, Warp.ShuffleXor(value, 2));
        value = XMath.Max(value, Warp.ShuffleXor(value, 1));
        if (Warp.IsFirstLane) scratch[Warp.WarpIdx] = value;
        Group.Barrier();
        var max = scratch[0];
        for (var w = 1; w < Warps; w++) max = XMath.Max(max, scratch[w]);
        return max;
    }

    /// <summary>Half <paramref name="turn"/> % 2 of a shared buffer of two halves, for reductions taking turns.</summary>
    public static ArrayView<float> Turn(ArrayView<float> halves, int turn)
    {
        var half = halves.Length / 2;
        return halves.SubView((turn & 1) * half, half);
    }
}
