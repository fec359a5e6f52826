using System.Text.Json;

namespace Dromedary.Model.Config;

/// <summary>The shape of a LLaMA-1 or LLaMA-2 model, read from a Hugging Face <c>config.json</c>.</summary>
public sealed record LlamaConfig
{
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int Layers { get; init; }
    public required int VocabSize { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public int MaxPositions { get; init; } = 2048;
    public bool TieWordEmbeddings { get; init; }
    public string TorchDtype { get; init; } = "float32";
    public int BosId { get; init; } = 1;
    public int EosId { get; init; } = 2;

    public int HeadDim => HiddenSize / Heads;
    public int KvDim => KvHeads * HeadDim;

    /// <summary>Reads <paramref name="path"/> (a config.json, or a folder holding one) and checks it is a LLaMA we run.</summary>
    public static LlamaConfig Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!File.Exists(file))
            throw new DromedaryException($"{file}: not found; a Hugging Face LLaMA folder holds config.json, *.safetensors and tokenizer.model.");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            return Parse(document.RootElement, file);
        }
        catch (JsonException e)
        {
            throw new DromedaryException($"{file}: not valid JSON ({e.Message}).");
        }
    }

    public static LlamaConfig Parse(JsonElement root, string file)
    {
        var reader = new ConfigReader(root, file);
        if (root.ValueKind != JsonValueKind.Object) throw reader.Error("the top level must be a JSON object");
        var modelType = reader.OptionalString("model_type");
        if (modelType != "llama")
            throw reader.Error($"model_type '{modelType ?? "(missing)"}' is not supported; Dromedary runs LLaMA-1 and LLaMA-2 checkpoints (model_type 'llama')");
        if (reader.OptionalString("hidden_act") is { } act && act != "silu")
            throw reader.Error($"hidden_act '{act}' is not supported; LLaMA uses 'silu'");
        if (root.TryGetProperty("rope_scaling", out var scaling) && scaling.ValueKind != JsonValueKind.Null)
            throw reader.Error("rope_scaling is set; only LLaMA-1/2 position encoding (no scaling) is supported");

        var heads = reader.RequiredInt("num_attention_heads");
        var config = new LlamaConfig
        {
            HiddenSize = reader.RequiredInt("hidden_size"),
            IntermediateSize = reader.RequiredInt("intermediate_size"),
            Heads = heads,
            KvHeads = reader.OptionalInt("num_key_value_heads") ?? heads,
            Layers = reader.RequiredInt("num_hidden_layers"),
            VocabSize = reader.RequiredInt("vocab_size"),
            RmsNormEps = reader.OptionalDouble("rms_norm_eps") ?? 1e-6,
            RopeTheta = reader.OptionalDouble("rope_theta") ?? 10000,
            MaxPositions = reader.OptionalInt("max_position_embeddings") ?? reader.OptionalInt("max_sequence_length") ?? 2048,
            TieWordEmbeddings = reader.OptionalBool("tie_word_embeddings") ?? false,
            TorchDtype = reader.OptionalString("torch_dtype") ?? "float32",
            BosId = reader.OptionalInt("bos_token_id") ?? 1,
            EosId = reader.OptionalInt("eos_token_id") ?? 2,
        };
        config.Validate(reader);
        return config;
    }

    private void Validate(ConfigReader reader)
    {
        if (HiddenSize % Heads != 0)
            throw reader.Error($"hidden_size {HiddenSize} is not a multiple of num_attention_heads {Heads}");
        if (Heads % KvHeads != 0)
            throw reader.Error($"num_attention_heads {Heads} is not a multiple of num_key_value_heads {KvHeads}");
        if (HeadDim % 2 != 0)
            throw reader.Error($"head dimension {HeadDim} must be even for rotary position embeddings");
        if (RmsNormEps <= 0) throw reader.Error($"rms_norm_eps {RmsNormEps} must be positive");
        if (RopeTheta <= 0) throw reader.Error($"rope_theta {RopeTheta} must be positive");
    }

    /// <summary>Typed access to config fields with errors that name the file and the field.</summary>
    private readonly struct ConfigReader(JsonElement root, string file)
    {
        public DromedaryException Error(string problem) => new($"{file}: {problem}.");

        public int RequiredInt(string name) =>
            OptionalInt(name) ?? throw Error($"the field '{name}' is missing");

        public int? OptionalInt(string name)
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
                throw Error($"the field '{name}' must be a whole number, not {value.GetRawText()}");
            if (number <= 0) throw Error($"the field '{name}' must be positive, not {number}");
            return number;
        }

        public double? OptionalDouble(string name)
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            return value.ValueKind == JsonValueKind.Number
                ? value.GetDouble()
                : throw Error($"the field '{name}' must be a number, not {value.GetRawText()}");
        }

        public bool? OptionalBool(string name)
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error($"the field '{name}' must be true or false, not {value.GetRawText()}"),
            };
        }

        public string? OptionalString(string name)
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            return value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : throw Error($"the field '{name}' must be a string, not {value.GetRawText()}");
        }
    }
}
