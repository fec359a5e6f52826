namespace Dromedary.Kernels.Cpu;

/// <summary>Kernel scratch that grows only when a larger shape is first seen, so steady-state calls never allocate.</summary>
internal static class Scratch
{
    public static void Grow<T>(ref NativeBuffer<T> buffer, long length) where T : unmanaged
    {
        if (buffer.Length >= length) return;
        buffer.Dispose();
        buffer = new NativeBuffer<T>(length);
    }
}
