using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Safetensors;

namespace Dromedary.Training.Pretraining;

/// <summary>
/// Every tensor of a LLaMA model as a plain fp32 array in Hugging Face's layout (linears [out, in]), by Hugging
/// Face name: the trainable weights of full-parameter training, and equally their gradients or Adam moments. With
/// tied embeddings there is no lm_head: <see cref="Head"/> is the embedding table itself.
/// </summary>
public sealed class ModelTensors
{
    private readonly Dictionary<string, float[]> _byName = new(StringComparer.Ordinal);

    private ModelTensors(LlamaConfig config)
    {
        Config = config;
        Specs = SpecsOf(config);
        foreach (var spec in Specs) _byName[spec.Name] = new float[ShapeMath.ElementCount(spec.Shape)];
    }

    public LlamaConfig Config { get; }

    /// <summary>Names and shapes (F32) in the order a checkpoint stores them.</summary>
    public IReadOnlyList<TensorSpec> Specs { get; }

    public float[] this[string name] => _byName[name];

    public float[] Embedding => _byName[TensorNames.Embedding];
    public float[] FinalNorm => _byName[TensorNames.FinalNorm];
    public float[] Head => _byName[Config.TieWordEmbeddings ? TensorNames.Embedding : TensorNames.Head];

    public float[] AttentionNorm(int layer) => _byName[TensorNames.LayerWeight(layer, "input_layernorm")];
    public float[] MlpNorm(int layer) => _byName[TensorNames.LayerWeight(layer, "post_attention_layernorm")];
    public float[] Projection(int layer, LoraTarget target) => _byName[TensorNames.LayerWeight(layer, target.ModulePath())];

    /// <summary>All tensors in <see cref="Specs"/> order.</summary>
    public IEnumerable<float[]> All => Specs.Select(spec => _byName[spec.Name]);

    public long ParameterCount => Specs.Sum(spec => ShapeMath.ElementCount(spec.Shape));

    public static ModelTensors Zeros(LlamaConfig config) => new(config);

    /// <summary>
    /// A fresh model as Hugging Face's LlamaPreTrainedModel initialises one: matrices normal with std
    /// <paramref name="std"/> (initializer_range, 0.02), norm weights 1. Seeded: the same seed gives the same model.
    /// </summary>
    public static ModelTensors Random(LlamaConfig config, ulong seed, double std = 0.02)
    {
        var tensors = new ModelTensors(config);
        var random = new SplitMix64(seed);
        foreach (var spec in tensors.Specs)
        {
            var values = tensors._byName[spec.Name];
            if (spec.Shape.Length == 1) Array.Fill(values, 1f);
            else for (var i = 0; i < values.Length; i++) values[i] = (float)(std * Normal(ref random));
        }
        return tensors;
    }

    /// <summary>Reads every tensor from a safetensors file of <paramref name="config"/>'s shape (F32, F16 or BF16).</summary>
    public static ModelTensors Read(LlamaConfig config, string path)
    {
        var tensors = new ModelTensors(config);
        using var file = SafetensorsFile.Open(path);
        foreach (var spec in tensors.Specs)
        {
            if (!file.TryGet(spec.Name, out var info))
                throw new DromedaryException($"{path}: tensor '{spec.Name}' is missing.");
            if (!info.Shape.SequenceEqual(spec.Shape) || info.Type == ScalarType.I8)
                throw new DromedaryException($"{info.FilePath}: tensor '{spec.Name}' is [{string.Join(", ", info.Shape)}] {info.Type}; training needs [{string.Join(", ", spec.Shape)}] F32, F16 or BF16.");
            ScalarConvert.ToFloat(file.Span(info), info.Type, tensors._byName[spec.Name]);
        }
        return tensors;
    }

    /// <summary>Writes every tensor to one safetensors file in <paramref name="type"/> (F32, F16 or BF16), atomically.</summary>
    public void Write(string path, ScalarType type)
    {
        var specs = Specs.Select(spec => spec with { Type = type }).ToList();
        using var writer = new SafetensorsWriter(path, specs, new Dictionary<string, string> { ["format"] = "pt" });
        foreach (var spec in specs)
        {
            var values = _byName[spec.Name];
            var bytes = new byte[(long)values.Length * type.SizeOf()];
            ScalarConvert.FromFloat(values, type, bytes);
            writer.Write(spec.Name, bytes);
        }
        writer.Complete();
    }

    public void Clear()
    {
        foreach (var values in _byName.Values) Array.Clear(values);
    }

    private static List<TensorSpec> SpecsOf(LlamaConfig config)
    {
        long d = config.HiddenSize, v = config.VocabSize;
        var specs = new List<TensorSpec> { new(TensorNames.Embedding, ScalarType.F32, [v, d]) };
        for (var layer = 0; layer < config.Layers; layer++)
        {
            specs.Add(new TensorSpec(TensorNames.LayerWeight(layer, "input_layernorm"), ScalarType.F32, [d]));
            specs.Add(new TensorSpec(TensorNames.LayerWeight(layer, "post_attention_layernorm"), ScalarType.F32, [d]));
            foreach (var target in LoraTargets.All)
            {
                var (rows, cols) = target.Shape(config);
                specs.Add(new TensorSpec(TensorNames.LayerWeight(layer, target.ModulePath()), ScalarType.F32, [rows, cols]));
            }
        }
        specs.Add(new TensorSpec(TensorNames.FinalNorm, ScalarType.F32, [d]));
        if (!config.TieWordEmbeddings) specs.Add(new TensorSpec(TensorNames.Head, ScalarType.F32, [v, d]));
        return specs;
    }

    /// <summary>A standard normal draw (Box–Muller; one of the pair is dropped for simplicity).</summary>
    private static double Normal(ref SplitMix64 random)
    {
        var u = 1 - random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * random.NextDouble());
    }
}
