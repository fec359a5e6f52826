using System.Buffers.Binary;
using System.Text;

namespace Dromedary.Tests.Safetensors;

/// <summary>Hand-made safetensors bytes, so tests can build files the writer would refuse to produce.</summary>
internal static class RawSafetensors
{
    /// <summary>A file with the given header JSON, its true length as prefix, and dataBytes zero bytes.</summary>
    public static void Write(string path, string headerJson, int dataBytes = 0) =>
        Write(path, Encoding.UTF8.GetBytes(headerJson), dataBytes);

    public static void Write(string path, byte[] header, int dataBytes = 0) =>
        File.WriteAllBytes(path, [.. Prefix((ulong)header.Length), .. header, .. new byte[dataBytes]]);

    public static byte[] Prefix(ulong headerLength)
    {
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, headerLength);
        return prefix;
    }
}
