using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Lora;
using Dromedary.Model.Safetensors;
using Dromedary.Training.Data;
using Dromedary.Training.Lora;

namespace Dromedary.Training.Trainer;

/// <summary>
/// A run's state after a number of optimizer steps: the adapter, AdamW's moments, the update count, the data
/// cursor and the run's settings (the seed among them; dropout masks and the data order are functions of it,
/// so no generator state needs saving). Saved as checkpoints/step-NNNNNNNN/ holding the PEFT adapter files,
/// optimizer.safetensors, trainer_state.json and, last, the marker file COMPLETE. Everything is written into a
/// ".partial" folder, each file synced, and the folder renamed at the end: a checkpoint without its marker is
/// never read, so killing the process at any moment leaves the newest complete checkpoint intact.
/// </summary>
public sealed partial record TrainingCheckpoint(
    int Step, int Updates, DataCursor Cursor, TrainingSettings Settings, LoraAdapter Adapter, AdamWMoments Moments)
{
    public const string FolderName = "checkpoints";
    public const string MarkerFileName = "COMPLETE";
    private const string StateFileName = "trainer_state.json";
    private const string OptimizerFileName = "optimizer.safetensors";
    private const string PartialSuffix = ".partial";

    /// <summary>Complete checkpoints kept; older ones are deleted once a newer one is complete.</summary>
    private const int Kept = 2;

    public static string Folder(string runFolder) => Path.Combine(runFolder, FolderName);

    private static string StepFolder(string runFolder, int step) =>
        Path.Combine(Folder(runFolder), string.Create(CultureInfo.InvariantCulture, $"step-{step:D8}"));

    public void Save(string runFolder)
    {
        var final = StepFolder(runFolder, Step);
        var partial = final + PartialSuffix;
        // Left by a run killed while saving; never read, so they only take space.
        if (Directory.Exists(Folder(runFolder)))
            foreach (var torn in Directory.GetDirectories(Folder(runFolder), "*" + PartialSuffix)) Directory.Delete(torn, recursive: true);
        Directory.CreateDirectory(partial);
        Adapter.Save(partial);
        WriteMoments(Path.Combine(partial, OptimizerFileName));
        var state = new JsonObject
        {
            ["step"] = Step,
            ["updates"] = Updates,
            ["epoch"] = Cursor.Epoch,
            ["position"] = Cursor.Position,
            ["settings"] = Settings.ToJson(),
        };
        JsonFile.Write(Path.Combine(partial, StateFileName), state);
        AtomicFile.Write(Path.Combine(partial, MarkerFileName), []);
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(partial, final);
        foreach (var old in CompleteSteps(runFolder).SkipLast(Kept)) Directory.Delete(StepFolder(runFolder, old), recursive: true);
    }

    /// <summary>The newest complete checkpoint of a run, or null when it has none.</summary>
    public static TrainingCheckpoint? LoadNewest(string runFolder, LlamaConfig model)
    {
        var steps = CompleteSteps(runFolder);
        return steps.Count == 0 ? null : Load(StepFolder(runFolder, steps[^1]), model);
    }

    /// <summary>Steps of the complete checkpoints, oldest first; partial folders and folders without the marker are skipped.</summary>
    private static List<int> CompleteSteps(string runFolder)
    {
        var folder = Folder(runFolder);
        if (!Directory.Exists(folder)) return [];
        return Directory.GetDirectories(folder)
            .Select(path => (Path: path, Match: StepName().Match(Path.GetFileName(path))))
            .Where(c => c.Match.Success && File.Exists(Path.Combine(c.Path, MarkerFileName)))
            .Select(c => int.Parse(c.Match.Groups[1].Value, CultureInfo.InvariantCulture))
            .Order()
            .ToList();
    }

    private static TrainingCheckpoint Load(string folder, LlamaConfig model)
    {
        var statePath = Path.Combine(folder, StateFileName);
        var state = JsonFile.Read(statePath);
        int Integer(string name) => state[name] is JsonValue value && value.TryGetValue<int>(out var number)
            ? number
            : throw new DromedaryException($"{statePath}: \"{name}\" must be an integer.");
        var settings = TrainingSettings.FromJson(state["settings"] ?? throw new DromedaryException($"{statePath}: \"settings\" is missing."), statePath);
        var adapter = LoraAdapter.Load(folder, model);
        var moments = ReadMoments(Path.Combine(folder, OptimizerFileName), adapter);
        return new TrainingCheckpoint(Integer("step"), Integer("updates"), new DataCursor(Integer("epoch"), Integer("position")), settings, adapter, moments);
    }

    private static readonly string[] MomentNames = ["exp_avg", "exp_avg_sq"];

    /// <summary>The moments of A and B of each matrix, named after the adapter tensor they belong to.</summary>
    private static IEnumerable<(string Name, Func<AdamWMoments, float[][]> Of, int Index)> MomentTensors(LoraAdapter adapter) =>
        adapter.Matrices.SelectMany((m, i) => new (string, Func<AdamWMoments, float[][]>, int)[]
        {
            ($"{m.TensorName('A')}.{MomentNames[0]}", x => x.FirstA, i),
            ($"{m.TensorName('A')}.{MomentNames[1]}", x => x.SecondA, i),
            ($"{m.TensorName('B')}.{MomentNames[0]}", x => x.FirstB, i),
            ($"{m.TensorName('B')}.{MomentNames[1]}", x => x.SecondB, i),
        });

    private void WriteMoments(string path)
    {
        var tensors = MomentTensors(Adapter).Select(t => (t.Name, Values: t.Of(Moments)[t.Index])).ToList();
        var specs = tensors.Select(t => new TensorSpec(t.Name, ScalarType.F32, [t.Values.Length])).ToList();
        using var writer = new SafetensorsWriter(path, specs);
        foreach (var (name, values) in tensors) writer.Write(name, MemoryMarshal.AsBytes(values.AsSpan()));
        writer.Complete();
    }

    private static AdamWMoments ReadMoments(string path, LoraAdapter adapter)
    {
        float[][] Empty(Func<LoraMatrices, float[]> shape) => adapter.Matrices.Select(m => new float[shape(m).Length]).ToArray();
        var moments = new AdamWMoments(Empty(m => m.A), Empty(m => m.A), Empty(m => m.B), Empty(m => m.B));
        if (!File.Exists(path)) throw new DromedaryException($"{path}: missing from a checkpoint marked complete.");
        using var file = SafetensorsFile.Open(path);
        foreach (var (name, of, index) in MomentTensors(adapter))
        {
            var destination = of(moments)[index];
            if (!file.TryGet(name, out var info) || info.Type != ScalarType.F32 || info.Shape is not [var length] || length != destination.Length)
                throw new DromedaryException($"{path}: tensor '{name}' is missing or is not F32 [{destination.Length}].");
            MemoryMarshal.Cast<byte, float>(file.Span(info)).CopyTo(destination);
        }
        return moments;
    }

    [GeneratedRegex(@"^step-(\d{1,9})$")]
    private static partial Regex StepName();
}
