using System.Buffers.Binary;
using Dromedary.Kernels;
using Dromedary.Model.Safetensors;
using Xunit;

namespace Dromedary.Tests.Safetensors;

public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static readonly TensorSpec[] Specs =
    [
        new("f32", ScalarType.F32, [3, 5]),
        new("f16", ScalarType.F16, [7]),
        new("empty", ScalarType.F32, [0, 8]),
        new("bf16", ScalarType.BF16, [2, 3, 1]),
        new("scalar", ScalarType.F32, []),
        new("i8", ScalarType.I8, [11]),
    ];

    [Fact]
    public void RoundTripsEveryDtypeWithMetadata()
    {
        var path = _temp["out.safetensors"];
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode \"quoted\"" };
        var data = Specs.Select((s, i) => RandomBytes(i, Bytes(s))).ToArray();
        using (var writer = new SafetensorsWriter(path, Specs, metadata))
        {
            for (var i = 0; i < Specs.Length; i++) writer.Write(Specs[i].Name, data[i]);
            writer.Complete();
        }

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(Specs.Select(s => s.Name), file.Tensors.Select(t => t.Name));
        for (var i = 0; i < Specs.Length; i++)
        {
            var tensor = file.Tensors[i];
            Assert.Equal(Specs[i].Type, tensor.Type);
            Assert.Equal(Specs[i].Shape, tensor.Shape);
            Assert.Equal(data[i], file.Span(tensor).ToArray());
        }
        Assert.Equal(1, file.Tensors.Single(t => t.Name == "scalar").ElementCount);
        Assert.Equal(0, file.Tensors.Single(t => t.Name == "empty").ElementCount);

        var bytes = File.ReadAllBytes(path);
        var dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, dataStart % 8);
        Assert.Equal(dataStart, file.Tensors[0].DataOffset);
        Assert.Equal(bytes.Length, dataStart + data.Sum(d => d.Length));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void RejectsTensorOutOfOrder()
    {
        using var writer = new SafetensorsWriter(_temp["out.safetensors"], Specs, null);
        var error = Assert.Throws<InvalidOperationException>(() => writer.Write("f16", new byte[14]));
        Assert.Contains("'f32' comes next", error.Message);
    }

    [Fact]
    public void RejectsWrongByteCount()
    {
        using var writer = new SafetensorsWriter(_temp["out.safetensors"], Specs, null);
        var error = Assert.Throws<ArgumentException>(() => writer.Write("f32", new byte[59]));
        Assert.Contains("is 60 bytes, not 59", error.Message);
    }

    [Fact]
    public void RejectsExtraTensorAndEarlyComplete()
    {
        using var writer = new SafetensorsWriter(_temp["out.safetensors"], [new("a", ScalarType.I8, [2]), new("b", ScalarType.I8, [1])], null);
        writer.Write("a", new byte[2]);
        Assert.Contains("'b' is next", Assert.Throws<InvalidOperationException>(writer.Complete).Message);
        writer.Write("b", new byte[1]);
        Assert.Throws<InvalidOperationException>(() => writer.Write("c", new byte[1]));
    }

    [Theory]
    [InlineData("dup", "dup", 1L)]
    [InlineData("a", "__metadata__", 1L)]
    [InlineData("a", "b", -1L)]
    public void RejectsBadSpecs(string first, string second, long dim)
    {
        TensorSpec[] specs = [new(first, ScalarType.F32, [1]), new(second, ScalarType.F32, [dim])];
        Assert.Throws<ArgumentException>(() => new SafetensorsWriter(_temp["out.safetensors"], specs, null));
        Assert.Empty(Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public void DisposeWithoutCompleteLeavesNoFile()
    {
        var path = _temp["out.safetensors"];
        using (var writer = new SafetensorsWriter(path, Specs, null))
        {
            writer.Write("f32", new byte[60]);
            Assert.False(File.Exists(path));
        }
        Assert.Empty(Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public void CompleteReplacesAnExistingFileOnlyAtTheEnd()
    {
        var path = _temp["out.safetensors"];
        File.WriteAllText(path, "old");
        using var writer = new SafetensorsWriter(path, [new("a", ScalarType.I8, [1])], null);
        writer.Write("a", [7]);
        Assert.Equal("old", File.ReadAllText(path));
        writer.Complete();
        using var file = SafetensorsFile.Open(path);
        Assert.Equal([7], file.Span(file.Tensors[0]).ToArray());
    }

    [Fact]
    public void WriteIndexRejectsPathsOutsideTheFolder()
    {
        Assert.Throws<ArgumentException>(() =>
            SafetensorsWriter.WriteIndex(_temp.Path, new Dictionary<string, string> { ["x"] = "../a.safetensors" }, 1));
    }

    internal static void WriteOne(string path, string name, byte[] data)
    {
        using var writer = new SafetensorsWriter(path, [new(name, ScalarType.I8, [data.Length])], null);
        writer.Write(name, data);
        writer.Complete();
    }

    private static int Bytes(TensorSpec spec) => (int)spec.Shape.Aggregate(1L, (a, b) => a * b) * spec.Type.SizeOf();

    private static byte[] RandomBytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
