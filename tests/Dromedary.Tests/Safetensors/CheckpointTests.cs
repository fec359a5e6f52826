using System.Text.Json;
using Dromedary.Model.Safetensors;
using Xunit;

namespace Dromedary.Tests.Safetensors;

public sealed class CheckpointTests : IDisposable
{
    private const string IndexName = "model.safetensors.index.json";
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny-llama");
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ShardedFixtureMatchesSingleFile()
    {
        using var single = Checkpoint.Open(Path.Combine(Fixtures, "f32"));
        using var sharded = Checkpoint.Open(Path.Combine(Fixtures, "sharded"));
        Assert.Single(single.Files);
        Assert.Equal(2, sharded.Files.Count);
        Assert.Equal("pt", sharded.Metadata["format"]);
        Assert.Equal(single.Tensors.Select(t => t.Name).Order(), sharded.Tensors.Select(t => t.Name).Order());
        foreach (var tensor in single.Tensors)
        {
            var other = sharded.Get(tensor.Name);
            Assert.Equal(tensor.Shape, other.Shape);
            Assert.True(single.Span(tensor).SequenceEqual(sharded.Span(other)), tensor.Name);
        }
    }

    [Fact]
    public void WriteIndexIsReadBackByCheckpoint()
    {
        SafetensorsWriterTests.WriteOne(_temp["b.safetensors"], "y", [2]);
        SafetensorsWriterTests.WriteOne(_temp["a.safetensors"], "x", [1]);
        SafetensorsWriter.WriteIndex(_temp.Path, new Dictionary<string, string> { ["y"] = "b.safetensors", ["x"] = "a.safetensors" }, 2);

        Assert.Contains("\"total_size\": 2", File.ReadAllText(_temp[IndexName]));
        using var checkpoint = Checkpoint.Open(_temp.Path);
        Assert.Equal([_temp["a.safetensors"], _temp["b.safetensors"]], checkpoint.Files);
        Assert.Equal(["x", "y"], checkpoint.Tensors.Select(t => t.Name));
        Assert.Equal([2], checkpoint.Span(checkpoint.Get("y")).ToArray());
    }

    [Fact]
    public void PrefersModelSafetensorsOverOtherFiles()
    {
        SafetensorsWriterTests.WriteOne(_temp["model.safetensors"], "w", [1]);
        SafetensorsWriterTests.WriteOne(_temp["model-q8.safetensors"], "w", [2]);
        using var checkpoint = Checkpoint.Open(_temp.Path);
        Assert.Equal([_temp["model.safetensors"]], checkpoint.Files);
        Assert.Equal([1], checkpoint.Span(checkpoint.Get("w")).ToArray());
    }

    [Fact]
    public void OpensLooseShardsInNameOrder()
    {
        SafetensorsWriterTests.WriteOne(_temp["b.safetensors"], "y", [2]);
        SafetensorsWriterTests.WriteOne(_temp["a.safetensors"], "x", [1]);
        using var checkpoint = Checkpoint.Open(_temp.Path);
        Assert.Equal([_temp["a.safetensors"], _temp["b.safetensors"]], checkpoint.Files);
        Assert.Equal(["x", "y"], checkpoint.Tensors.Select(t => t.Name));
        Assert.True(checkpoint.TryGet("y", out var y));
        Assert.Equal([2], checkpoint.Span(y).ToArray());
    }

    [Fact]
    public void LooseShardsMustNotRepeatATensor()
    {
        SafetensorsWriterTests.WriteOne(_temp["a.safetensors"], "w", [1]);
        SafetensorsWriterTests.WriteOne(_temp["b.safetensors"], "w", [2]);
        var error = OpenFails(_temp.Path, "'w'", _temp["a.safetensors"]);
        Assert.Contains(_temp["b.safetensors"], error.Message);
    }

    [Fact]
    public void IndexNamesMissingShard()
    {
        SafetensorsWriterTests.WriteOne(_temp["a.safetensors"], "x", [1]);
        WriteIndex(new() { ["x"] = "a.safetensors", ["y"] = "b.safetensors" });
        OpenFails(_temp.Path, _temp[IndexName], "'b.safetensors'", "missing");
    }

    [Fact]
    public void IndexMapsTensorToShardWithoutIt()
    {
        SafetensorsWriterTests.WriteOne(_temp["a.safetensors"], "x", [1]);
        WriteIndex(new() { ["x"] = "a.safetensors", ["y"] = "a.safetensors" });
        OpenFails(_temp.Path, _temp[IndexName], "'y'", _temp["a.safetensors"]);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"weight_map": []}""")]
    [InlineData("""{"weight_map": {"x": 3}}""")]
    [InlineData("""{"weight_map": {}}""")]
    [InlineData("""{"weight_map": {"x": "a.safetensors", "x": "a.safetensors"}}""")]
    public void MalformedIndex(string json)
    {
        SafetensorsWriterTests.WriteOne(_temp["a.safetensors"], "x", [1]);
        File.WriteAllText(_temp[IndexName], json);
        OpenFails(_temp.Path, _temp[IndexName]);
    }

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("/tmp/outside.safetensors")]
    [InlineData("sub/a.safetensors")]
    [InlineData("sub\\a.safetensors")]
    [InlineData("..")]
    [InlineData("")]
    public void IndexMustNotLeaveTheFolder(string shard)
    {
        var model = _temp.CreateSubdirectory("model");
        SafetensorsWriterTests.WriteOne(_temp["outside.safetensors"], "x", [1]);
        File.WriteAllText(Path.Combine(model, IndexName), JsonSerializer.Serialize(new { weight_map = new Dictionary<string, string> { ["x"] = shard } }));
        OpenFails(model, Path.Combine(model, IndexName), "'x'", "not a plain file name");
    }

    [Fact]
    public void EmptyFolderHasNoWeights()
    {
        File.WriteAllText(_temp["pytorch_model.bin"], "");
        OpenFails(_temp.Path, "no safetensors weights", ".bin");
    }

    [Fact]
    public void MissingFolder() => OpenFails(_temp["absent"], "does not exist");

    [Fact]
    public void GetNamesFolderOfMissingTensor()
    {
        SafetensorsWriterTests.WriteOne(_temp["model.safetensors"], "w", [1]);
        using var checkpoint = Checkpoint.Open(_temp.Path);
        var error = Assert.Throws<DromedaryException>(() => checkpoint.Get("nope"));
        Assert.Equal($"Model folder '{_temp.Path}' has no tensor 'nope'.", error.Message);
        Assert.False(checkpoint.TryGet("nope", out _));
    }

    private void WriteIndex(Dictionary<string, string> weightMap) => SafetensorsWriter.WriteIndex(_temp.Path, weightMap, 1);

    private static DromedaryException OpenFails(string folder, params string[] mentions)
    {
        var error = Assert.Throws<DromedaryException>(() => Checkpoint.Open(folder));
        Assert.Contains(folder, error.Message);
        foreach (var mention in mentions) Assert.Contains(mention, error.Message);
        return error;
    }
}
