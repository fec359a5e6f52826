using System.Diagnostics.CodeAnalysis;

namespace Dromedary.Model.Safetensors;

/// <summary>
/// A model folder's weights: one model.safetensors, shards listed by model.safetensors.index.json, or loose
/// *.safetensors files. Tensors are looked up by name across all files.
/// </summary>
public sealed unsafe class Checkpoint : ITensorSource, IDisposable
{
    public const string SingleFileName = "model.safetensors";

    private readonly SafetensorsFile[] _files;
    private readonly Dictionary<string, TensorInfo> _byName;

    private Checkpoint(string folder, SafetensorsFile[] files, List<TensorInfo> tensors)
    {
        Folder = folder;
        _files = files;
        Files = files.Select(f => f.Path).ToArray();
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Folder { get; }

    public string Origin => Files[0];

    /// <summary>Paths of the opened files, in name order.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>All tensors, file by file in Files order, each file's in data order (sequential reads).</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata => _files[0].Metadata;

    public static Checkpoint Open(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DromedaryException($"Model folder '{directory}' does not exist.");

        var indexPath = Path.Combine(directory, CheckpointIndex.FileName);
        if (File.Exists(indexPath)) return OpenIndexed(directory, indexPath);

        var single = Path.Combine(directory, SingleFileName);
        if (File.Exists(single)) return Create(directory, [single], files => [.. files[0].Tensors]);

        var loose = Directory.GetFiles(directory, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
        if (loose.Length == 0)
            throw new DromedaryException($"Model folder '{directory}' has no safetensors weights (model.safetensors or *.safetensors). " +
                "PyTorch .bin checkpoints are not supported; convert them to safetensors first.");
        return Create(directory, loose, MergeLoose);
    }

    public TensorInfo Get(string name) =>
        _byName.TryGetValue(name, out var tensor)
            ? tensor
            : throw new DromedaryException($"Model folder '{Folder}' has no tensor '{name}'.");

    public bool TryGet(string name, [MaybeNullWhen(false)] out TensorInfo tensor) => _byName.TryGetValue(name, out tensor);

    public byte* Pointer(TensorInfo tensor) => FileOf(tensor).Pointer(tensor);

    public ReadOnlySpan<byte> Span(TensorInfo tensor) => FileOf(tensor).Span(tensor);

    /// <summary>Done with this tensor: its mapped pages leave the resident set (see SafetensorsFile.Release).</summary>
    public void Release(TensorInfo tensor) => FileOf(tensor).Release(tensor);

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }

    private SafetensorsFile FileOf(TensorInfo tensor) =>
        Array.Find(_files, f => f.Path == tensor.FilePath)
        ?? throw new ArgumentException($"Tensor '{tensor.Name}' is from {tensor.FilePath}, not from model folder '{Folder}'.", nameof(tensor));

    private static Checkpoint OpenIndexed(string directory, string indexPath)
    {
        var weightMap = CheckpointIndex.Read(indexPath);
        var shardNames = weightMap.Values.Distinct().Order(StringComparer.Ordinal).ToArray();
        var paths = shardNames.Select(s => Path.Combine(directory, s)).ToArray();
        for (var i = 0; i < paths.Length; i++)
            if (!File.Exists(paths[i]))
                throw new DromedaryException($"{indexPath} lists shard '{shardNames[i]}', but it is missing from '{directory}'.");

        // The index decides where each tensor lives, as in Hugging Face's loader; tensors it does not name are ignored.
        return Create(directory, paths, files =>
        {
            var tensors = new List<TensorInfo>(weightMap.Count);
            foreach (var (name, shard) in weightMap)
            {
                var file = files[Array.IndexOf(shardNames, shard)];
                tensors.Add(file.TryGet(name, out var tensor)
                    ? tensor
                    : throw new DromedaryException($"{indexPath} maps tensor '{name}' to {file.Path}, but that file has no such tensor."));
            }
            return [.. tensors.OrderBy(t => Array.IndexOf(paths, t.FilePath)).ThenBy(t => t.DataOffset)];
        });
    }

    private static List<TensorInfo> MergeLoose(SafetensorsFile[] files)
    {
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files)
            foreach (var tensor in file.Tensors)
                if (!owner.TryAdd(tensor.Name, file.Path))
                    throw new DromedaryException($"Tensor '{tensor.Name}' is in both {owner[tensor.Name]} and {file.Path}; " +
                        $"without {CheckpointIndex.FileName} each tensor must be in one file.");
        return [.. files.SelectMany(f => f.Tensors)];
    }

    /// <summary>Opens the files and collects their tensors, closing every file if either step fails.</summary>
    private static Checkpoint Create(string directory, string[] paths, Func<SafetensorsFile[], List<TensorInfo>> collect)
    {
        var files = new List<SafetensorsFile>(paths.Length);
        try
        {
            foreach (var path in paths) files.Add(SafetensorsFile.Open(path));
            var opened = files.ToArray();
            return new Checkpoint(directory, opened, collect(opened));
        }
        catch
        {
            foreach (var file in files) file.Dispose();
            throw;
        }
    }
}
