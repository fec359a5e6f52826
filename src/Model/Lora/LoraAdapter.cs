using System.Runtime.InteropServices;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Safetensors;

namespace Dromedary.Model.Lora;

/// <summary>
/// A LoRA adapter for a LLaMA model: fp32 A and B for every targeted projection of every layer, read and written
/// as a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) so it loads in Python's PEFT as is.
/// </summary>
public sealed class LoraAdapter
{
    public const string WeightsFileName = "adapter_model.safetensors";

    private readonly LoraMatrices?[] _byProjection;

    private LoraAdapter(LoraConfig config, LlamaConfig model)
    {
        Config = config;
        Layers = model.Layers;
        _byProjection = new LoraMatrices?[model.Layers * LoraTargets.All.Length];
        var matrices = new List<LoraMatrices>();
        // Layer by layer, projections in the order a layer uses them: the order of PEFT's state dict.
        for (var layer = 0; layer < model.Layers; layer++)
        {
            foreach (var target in LoraTargets.All.Where(config.Targets.Contains))
            {
                var (outFeatures, inFeatures) = target.Shape(model);
                var m = new LoraMatrices(layer, target, config.Rank, inFeatures, outFeatures, config.Scaling);
                _byProjection[Index(layer, target)] = m;
                matrices.Add(m);
            }
        }
        Matrices = matrices;
    }

    public LoraConfig Config { get; }
    public int Layers { get; }

    /// <summary>Every projection's matrices, layer by layer (PEFT's tensor order).</summary>
    public IReadOnlyList<LoraMatrices> Matrices { get; }

    /// <summary>The matrices of one projection, or null when the adapter does not target it.</summary>
    public LoraMatrices? Find(int layer, LoraTarget target) => _byProjection[Index(layer, target)];

    private static int Index(int layer, LoraTarget target) => layer * LoraTargets.All.Length + (int)target;

    /// <summary>
    /// A new adapter initialised as PEFT does: A by torch's kaiming_uniform_(a = √5), i.e. uniform in
    /// ±1/√in, B zero, so the model starts unchanged. The values come from one seeded stream in tensor order.
    /// </summary>
    public static LoraAdapter Create(LoraConfig config, LlamaConfig model, ulong seed)
    {
        config.Validate("LoRA config");
        var adapter = new LoraAdapter(config, model);
        var random = new SplitMix64(seed);
        foreach (var m in adapter.Matrices)
        {
            var bound = 1 / Math.Sqrt(m.In);
            for (var i = 0; i < m.A.Length; i++) m.A[i] = (float)((2 * random.NextDouble() - 1) * bound);
        }
        return adapter;
    }

    /// <summary>Copies every A and B from <paramref name="source"/>, an adapter of the same shapes (its dropout or base name may differ).</summary>
    public void CopyWeightsFrom(LoraAdapter source)
    {
        if (source.Matrices.Count != Matrices.Count || source.Matrices.Where((m, i) => m.A.Length != Matrices[i].A.Length || m.B.Length != Matrices[i].B.Length).Any())
            throw new ArgumentException("the adapters differ in rank, targets or shapes", nameof(source));
        for (var i = 0; i < Matrices.Count; i++)
        {
            source.Matrices[i].A.CopyTo(Matrices[i].A, 0);
            source.Matrices[i].B.CopyTo(Matrices[i].B, 0);
        }
    }

    /// <summary>Throws unless every matrix has the shape <paramref name="model"/>'s projections need.</summary>
    public void CheckFits(LlamaConfig model, string modelName)
    {
        var misfit = Layers != model.Layers
            ? $"the adapter has {Layers} layers, the model {model.Layers}"
            : Matrices.Where(m => m.Target.Shape(model) != (m.Out, m.In))
                .Select(m => $"the adapter's {m.Target.PeftName()} is {m.Out}×{m.In}, the model's {m.Target.Shape(model).Out}×{m.Target.Shape(model).In}")
                .FirstOrDefault();
        if (misfit != null) throw new DromedaryException($"the LoRA adapter does not fit model {modelName}: {misfit}.");
    }

    /// <summary>Writes adapter_model.safetensors, then adapter_config.json, each atomically (temp file, sync, rename).</summary>
    public void Save(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DromedaryException($"{directory}: cannot create the adapter folder: {e.Message}", e);
        }
        var specs = Matrices.SelectMany(m => new[]
        {
            new TensorSpec(m.TensorName('A'), ScalarType.F32, [m.Rank, m.In]),
            new TensorSpec(m.TensorName('B'), ScalarType.F32, [m.Out, m.Rank]),
        }).ToList();
        using (var writer = new SafetensorsWriter(Path.Combine(directory, WeightsFileName), specs, new Dictionary<string, string> { ["format"] = "pt" }))
        {
            foreach (var m in Matrices)
            {
                writer.Write(m.TensorName('A'), MemoryMarshal.AsBytes(m.A.AsSpan()));
                writer.Write(m.TensorName('B'), MemoryMarshal.AsBytes(m.B.AsSpan()));
            }
            writer.Complete();
        }
        AdapterConfigFile.Write(Path.Combine(directory, AdapterConfigFile.FileName), Config);
    }

    /// <summary>Reads a PEFT adapter folder for <paramref name="model"/>; F32, F16 and BF16 tensors are widened to fp32.</summary>
    public static LoraAdapter Load(string directory, LlamaConfig model)
    {
        var config = AdapterConfigFile.Read(Path.Combine(directory, AdapterConfigFile.FileName));
        var path = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(path))
        {
            var hint = File.Exists(Path.Combine(directory, "adapter_model.bin")) ? "; adapter_model.bin (PyTorch pickle) is not read, save the adapter with safe_serialization" : "";
            throw new DromedaryException($"{path}: no such file{hint}.");
        }
        using var file = SafetensorsFile.Open(path);
        var adapter = new LoraAdapter(config, model);
        foreach (var tensor in file.Tensors) CheckExpected(tensor.Name, adapter, path);
        foreach (var m in adapter.Matrices)
        {
            Read(file, m.TensorName('A'), [m.Rank, m.In], 0, m.A);
            Read(file, m.TensorName('B'), [m.Out, m.Rank], 1, m.B);
        }
        return adapter;
    }

    /// <summary>Every tensor in the file must be one this adapter reads: nothing is silently dropped.</summary>
    private static void CheckExpected(string name, LoraAdapter adapter, string path)
    {
        if (!LoraTensorNames.TryParse(name, out var layer, out var module, out _))
            throw new DromedaryException($"{path}: tensor '{name}' is not a LoRA weight of a LLaMA layer projection " +
                                         $"(names look like '{LoraTensorNames.Name(0, LoraTarget.Query, 'A')}').");
        var index = Array.FindIndex(LoraTargets.All, t => t.ModulePath() == module);
        if (index < 0)
            throw new DromedaryException($"{path}: tensor '{name}' adapts '{module}', an unknown target; LLaMA adapters may target " +
                                         string.Join(", ", LoraTargets.All.Select(t => t.PeftName())) + ".");
        var target = LoraTargets.All[index];
        if (!adapter.Config.Targets.Contains(target))
            throw new DromedaryException($"{path}: tensor '{name}' adapts {target.PeftName()}, which target_modules in {AdapterConfigFile.FileName} does not list.");
        if (layer >= adapter.Layers)
            throw new DromedaryException($"{path}: tensor '{name}' is for layer {layer}, but the model has {adapter.Layers} layers.");
    }

    private static void Read(SafetensorsFile file, string name, long[] shape, int rankAxis, float[] destination)
    {
        if (!file.TryGet(name, out var info))
            throw new DromedaryException($"{file.Path}: tensor '{name}' is missing; {AdapterConfigFile.FileName} targets this module in every layer.");
        if (info.Shape.Length == 2 && info.Shape[1 - rankAxis] == shape[1 - rankAxis] && info.Shape[rankAxis] != shape[rankAxis])
            throw new DromedaryException($"{file.Path}: tensor '{name}' has rank {info.Shape[rankAxis]}, but r in {AdapterConfigFile.FileName} is {shape[rankAxis]}.");
        if (!info.Shape.SequenceEqual(shape))
            throw new DromedaryException($"{file.Path}: tensor '{name}' has shape [{string.Join(", ", info.Shape)}], but this model needs [{string.Join(", ", shape)}].");
        if (info.Type is not (ScalarType.F32 or ScalarType.F16 or ScalarType.BF16))
            throw new DromedaryException($"{file.Path}: tensor '{name}' is {info.Type}; LoRA weights must be F32, F16 or BF16.");
        ScalarConvert.ToFloat(file.Span(info), info.Type, destination);
    }
}
