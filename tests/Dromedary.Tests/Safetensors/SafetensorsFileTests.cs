using Dromedary.Kernels;
using Dromedary.Model.Safetensors;
using Xunit;

namespace Dromedary.Tests.Safetensors;

public sealed class SafetensorsFileTests : IDisposable
{
    private const string Name = "model.safetensors";
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void FileShorterThanPrefix(int length)
    {
        File.WriteAllBytes(_temp[Name], new byte[length]);
        OpenFails("too short");
    }

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(ulong.MaxValue)]
    public void HeaderLengthOverLimit(ulong declared)
    {
        File.WriteAllBytes(_temp[Name], [.. RawSafetensors.Prefix(declared), .. "{}"u8]);
        OpenFails($"header length {declared}", "limit");
    }

    [Fact]
    public void HeaderLengthBeyondFile()
    {
        File.WriteAllBytes(_temp[Name], [.. RawSafetensors.Prefix(100), .. "{}"u8]);
        OpenFails("header length 100", "truncated");
    }

    [Fact]
    public void HeaderNotJson()
    {
        RawSafetensors.Write(_temp[Name], """{"w": {"dtype": """);
        OpenFails("not valid JSON");
    }

    [Fact]
    public void HeaderNotUtf8()
    {
        RawSafetensors.Write(_temp[Name], [.. "{\""u8, 0xFF, .. "\": {}}"u8]);
        OpenFails("UTF-8");
    }

    [Theory]
    [InlineData("[1, 2]", "an array")]
    [InlineData("\"text\"", "a string")]
    [InlineData("null", "null")]
    public void HeaderNotObject(string json, string kind)
    {
        RawSafetensors.Write(_temp[Name], json);
        OpenFails("must be a JSON object", kind);
    }

    [Theory]
    [InlineData("""{"dtype": "F32", "shape": [1]}""", "no data_offsets")]
    [InlineData("""{"shape": [1], "data_offsets": [0, 4]}""", "no dtype")]
    [InlineData("""{"dtype": "F32", "data_offsets": [0, 4]}""", "no shape")]
    public void MissingField(string entry, string message)
    {
        RawSafetensors.Write(_temp[Name], $$"""{"w": {{entry}}}""", 4);
        OpenFails("tensor 'w'", message);
    }

    [Theory]
    [InlineData("3", "must be an object")]
    [InlineData("""{"dtype": 4, "shape": [1], "data_offsets": [0, 4]}""", "dtype must be a string")]
    [InlineData("""{"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}""", "shape must be an array of integers")]
    [InlineData("""{"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}""", "shape must be an array of integers")]
    [InlineData("""{"dtype": "F32", "shape": [1], "data_offsets": [4]}""", "data_offsets must be two non-negative integers")]
    [InlineData("""{"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}""", "data_offsets must be two non-negative integers")]
    [InlineData("""{"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551615]}""", "data_offsets must be two non-negative integers")]
    [InlineData("""{"dtype": "F32", "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}""", "field 'dtype' appears twice")]
    public void EntryOfWrongJsonType(string entry, string message)
    {
        RawSafetensors.Write(_temp[Name], $$"""{"w": {{entry}}}""", 4);
        OpenFails("tensor 'w'", message);
    }

    [Theory]
    [InlineData("""{"__metadata__": [], "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", "'__metadata__' must be an object")]
    [InlineData("""{"__metadata__": {"format": 1}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", "'format' is a number")]
    public void MetadataOfWrongJsonType(string json, string message)
    {
        RawSafetensors.Write(_temp[Name], json, 4);
        OpenFails(message);
    }

    [Fact]
    public void UnknownDtype()
    {
        RawSafetensors.Write(_temp[Name], """{"w": {"dtype": "Q4_K", "shape": [1], "data_offsets": [0, 1]}}""", 1);
        OpenFails("tensor 'w'", "'Q4_K' is not a safetensors dtype", "F32, F16, BF16, I8");
    }

    [Theory]
    [InlineData("F64")]
    [InlineData("I64")]
    [InlineData("I32")]
    [InlineData("I16")]
    [InlineData("U8")]
    [InlineData("BOOL")]
    [InlineData("F8_E4M3")]
    [InlineData("F8_E5M2")]
    public void UnsupportedDtype(string dtype)
    {
        RawSafetensors.Write(_temp[Name], $$$"""{"w": {"dtype": "{{{dtype}}}", "shape": [1], "data_offsets": [0, 8]}}""", 8);
        OpenFails("tensor 'w'", $"dtype {dtype} is not supported", "F32, F16, BF16, I8");
    }

    [Fact]
    public void NegativeDimension()
    {
        RawSafetensors.Write(_temp[Name], """{"w": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 0]}}""");
        OpenFails("tensor 'w'", "shape [2, -1] has a negative dimension");
    }

    [Fact]
    public void SizeMismatch()
    {
        const string tensor = "model.layers.0.mlp.up_proj.weight";
        RawSafetensors.Write(_temp[Name], $$$"""{"{{{tensor}}}": {"dtype": "F16", "shape": [200, 96], "data_offsets": [0, 38398]}}""", 38400);
        var error = OpenFails();
        Assert.Equal($"{_temp[Name]}: tensor '{tensor}': shape [200, 96] × F16 is 38400 bytes but data_offsets span 38398.", error.Message);
    }

    [Theory]
    [InlineData("[4611686018427387904, 4611686018427387904]")]
    [InlineData("[9223372036854775807, 2]")]
    [InlineData("[2097152, 2097152, 2097152]")]
    public void ShapeOverflow(string shape)
    {
        RawSafetensors.Write(_temp[Name], $$$"""{"w": {"dtype": "F32", "shape": {{{shape}}}, "data_offsets": [0, 16]}}""", 16);
        OpenFails("tensor 'w'", "over 2^63 bytes");
    }

    [Fact]
    public void BeginAfterEnd()
    {
        RawSafetensors.Write(_temp[Name], """{"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}""", 8);
        OpenFails("tensor 'w'", "data_offsets [8, 4] begin after they end");
    }

    [Fact]
    public void OffsetsPastEndOfData()
    {
        RawSafetensors.Write(_temp[Name], """{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", 12);
        OpenFails("tensor 'w'", "past the end of the data section (12 bytes)");
    }

    [Fact]
    public void OverlappingTensors()
    {
        RawSafetensors.Write(_temp[Name], """
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
             "c": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]},
             "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
            """, 12);
        OpenFails("'a'", "'b'", "overlap");
    }

    [Fact]
    public void DuplicateTensorName()
    {
        RawSafetensors.Write(_temp[Name], """
            {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
             "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
            """, 8);
        OpenFails("tensor 'w' appears twice");
    }

    [Fact]
    public void MissingFile() => OpenFails("no such file");

    [Fact]
    public void ReadsHandMadeFileInOffsetOrder()
    {
        RawSafetensors.Write(_temp[Name], """
            {"b": {"dtype": "I8", "shape": [2, 2], "data_offsets": [4, 8]},
             "__metadata__": {"format": "pt"},
             "empty": {"dtype": "BF16", "shape": [0, 5], "data_offsets": [4, 4]},
             "a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}
            """, 8);
        using var file = SafetensorsFile.Open(_temp[Name]);
        Assert.Equal(["a", "empty", "b"], file.Tensors.Select(t => t.Name));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.True(file.TryGet("b", out var b));
        Assert.Equal(new TensorInfo("b", ScalarType.I8, b.Shape, new FileInfo(_temp[Name]).Length - 4, 4, _temp[Name]), b);
        Assert.Equal([2L, 2L], b.Shape);
        Assert.Equal(4, b.ElementCount);
        Assert.False(file.TryGet("missing", out _));
        Assert.Equal(0, file.Span(file.Tensors[1]).Length);
    }

    [Fact]
    public unsafe void TensorOver2GBIsReachableByPointerButNotSpan()
    {
        const long bytes = 3L << 30;
        RawSafetensors.Write(_temp[Name], $$$"""{"big": {"dtype": "I8", "shape": [3, 1024, 1024, 1024], "data_offsets": [0, {{{bytes}}}]}}""");
        using (var stream = new FileStream(_temp[Name], FileMode.Open))
        {
            // Sparse on most file systems: only the last block is stored.
            stream.SetLength(stream.Length + bytes);
            stream.Seek(-1, SeekOrigin.End);
            stream.WriteByte(42);
        }
        using var file = SafetensorsFile.Open(_temp[Name]);
        var big = file.Tensors[0];
        Assert.Equal(bytes, big.ElementCount);
        Assert.Equal(42, file.Pointer(big)[bytes - 1]);
        var error = Assert.Throws<InvalidOperationException>(() => file.Span(big));
        Assert.Contains("Pointer", error.Message);
    }

    [Fact]
    public void RejectsTensorOfAnotherFile()
    {
        RawSafetensors.Write(_temp[Name], """{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", 4);
        using var file = SafetensorsFile.Open(_temp[Name]);
        var foreign = file.Tensors[0] with { FilePath = "other.safetensors" };
        Assert.Throws<ArgumentException>(() => file.Span(foreign));
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.Span(file.Tensors[0]));
    }

    private DromedaryException OpenFails(params string[] mentions)
    {
        var error = Assert.Throws<DromedaryException>(() => SafetensorsFile.Open(_temp[Name]));
        Assert.Contains(_temp[Name], error.Message);
        foreach (var mention in mentions) Assert.Contains(mention, error.Message);
        return error;
    }
}
