using Dromedary.Kernels;

namespace Dromedary.Model.Safetensors;

/// <summary>
/// Writes a transformed copy of a model folder one tensor at a time: one output file per input file (same names,
/// an index when sharded), each input tensor turned into one or more output tensors by the caller, and the files
/// beside the weights that a model folder needs copied. Memory stays near the largest tensor.
/// </summary>
internal static class CheckpointRewriter
{
    /// <summary>Files beside the weights that a model folder needs, copied when present.</summary>
    private static readonly string[] CompanionFiles =
        ["config.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

    /// <param name="outputs">The tensors an input tensor becomes, in the order <paramref name="write"/> writes them.</param>
    /// <param name="write">Writes those tensors of one input tensor; the input's pages are released after.</param>
    /// <param name="progress">Receives (tensors done, total).</param>
    public static void Run(Checkpoint checkpoint, string output, IReadOnlyDictionary<string, string> metadata,
        Func<TensorInfo, IEnumerable<TensorSpec>> outputs, Action<SafetensorsWriter, TensorInfo> write, IProgress<(int Done, int Total)>? progress)
    {
        if (Path.GetFullPath(checkpoint.Folder) == Path.GetFullPath(output))
            throw new DromedaryException($"{output}: the output folder must differ from the input folder.");
        Directory.CreateDirectory(output);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        long totalBytes = 0;
        var done = 0;
        var total = checkpoint.Tensors.Count;
        foreach (var file in checkpoint.Tensors.GroupBy(t => t.FilePath))
        {
            var tensors = file.ToList();
            var specs = tensors.SelectMany(outputs).ToList();
            var name = Path.GetFileName(file.Key);
            using var writer = new SafetensorsWriter(Path.Combine(output, name), specs, metadata);
            foreach (var tensor in tensors)
            {
                write(writer, tensor);
                checkpoint.Release(tensor);
                progress?.Report((++done, total));
            }
            writer.Complete();
            foreach (var spec in specs)
            {
                weightMap[spec.Name] = name;
                totalBytes += spec.Shape.Aggregate(1L, (a, b) => a * b) * spec.Type.SizeOf();
            }
        }
        if (checkpoint.Files.Count > 1) SafetensorsWriter.WriteIndex(output, weightMap, totalBytes);
        foreach (var companion in CompanionFiles)
        {
            var source = Path.Combine(checkpoint.Folder, companion);
            if (File.Exists(source)) File.Copy(source, Path.Combine(output, companion), overwrite: true);
        }
    }
}
