using System.Text.Json;
using Dromedary.Model.Safetensors;

namespace Dromedary.Model.Lora;

/// <summary>
/// PEFT's adapter_config.json. Writing gives the fields PEFT needs to load the adapter in Python; reading accepts
/// PEFT's files and refuses the options that would change the math (biases, fan_in_fan_out, rsLoRA, DoRA,
/// per-module ranks, a subset of layers) rather than silently ignoring them.
/// </summary>
internal static class AdapterConfigFile
{
    public const string FileName = "adapter_config.json";

    public static void Write(string path, LoraConfig config)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("base_model_name_or_path", config.BaseModel);
            json.WriteString("bias", "none");
            json.WriteBoolean("fan_in_fan_out", false);
            json.WriteBoolean("inference_mode", true);
            json.WriteBoolean("init_lora_weights", true);
            json.WriteNumber("lora_alpha", config.Alpha);
            json.WriteNumber("lora_dropout", config.Dropout);
            json.WriteNull("modules_to_save");
            json.WriteString("peft_type", "LORA");
            json.WriteNumber("r", config.Rank);
            json.WriteStartArray("target_modules");
            foreach (var target in config.Targets) json.WriteStringValue(target.PeftName());
            json.WriteEndArray();
            json.WriteString("task_type", "CAUSAL_LM");
            json.WriteEndObject();
        }
        AtomicFile.Write(path, buffer.ToArray());
    }

    public static LoraConfig Read(string path)
    {
        if (!File.Exists(path)) throw new DromedaryException($"{path}: no such file; a PEFT adapter folder needs {FileName}.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new DromedaryException($"{path}: not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            DromedaryException Error(string problem) => new($"{path}: {problem}.");
            JsonElement? Get(string name) =>
                root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
            double Number(string name, double fallback) => Get(name) is not { } value ? fallback
                : value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Error($"'{name}' must be a number");
            string? Text(string name) => Get(name) is not { } value ? null
                : value.ValueKind == JsonValueKind.String ? value.GetString() : throw Error($"'{name}' must be a string");
            void Refuse(string name, bool unsupported, string why)
            {
                if (unsupported) throw Error($"'{name}' is {Get(name)?.GetRawText()}; {why} is not supported");
            }

            if (root.ValueKind != JsonValueKind.Object) throw Error("the top level must be a JSON object");
            if (Text("peft_type") is var type && type != "LORA") throw Error($"peft_type is '{type}', not 'LORA'");
            if (Get("r") is not { ValueKind: JsonValueKind.Number } r || !r.TryGetInt32(out var rank)) throw Error("'r' must be a whole number");
            Refuse("bias", Text("bias") is { } bias && bias != "none", "training biases");
            Refuse("fan_in_fan_out", Get("fan_in_fan_out")?.ValueKind == JsonValueKind.True, "fan_in_fan_out (Conv1D layers)");
            Refuse("use_rslora", Get("use_rslora")?.ValueKind == JsonValueKind.True, "rank-stabilised scaling");
            Refuse("use_dora", Get("use_dora")?.ValueKind == JsonValueKind.True, "DoRA");
            Refuse("rank_pattern", Get("rank_pattern") is { ValueKind: JsonValueKind.Object } ranks && ranks.EnumerateObject().Any(), "a rank per module");
            Refuse("alpha_pattern", Get("alpha_pattern") is { ValueKind: JsonValueKind.Object } alphas && alphas.EnumerateObject().Any(), "an alpha per module");
            Refuse("layers_to_transform", Get("layers_to_transform") is not null, "adapting only some layers");
            var config = new LoraConfig
            {
                Rank = rank,
                Alpha = Number("lora_alpha", 8), // PEFT's default when the field is absent
                Dropout = Number("lora_dropout", 0),
                Targets = ReadTargets(Get("target_modules"), Error),
                BaseModel = Text("base_model_name_or_path") ?? "",
            };
            config.Validate(path);
            return config;
        }
    }

    private static LoraTarget[] ReadTargets(JsonElement? element, Func<string, DromedaryException> error)
    {
        if (element is not { ValueKind: JsonValueKind.Array } list)
            throw error("'target_modules' must be a list of module names (a regular expression is not supported)");
        return list.EnumerateArray().Select(item =>
        {
            var name = item.ValueKind == JsonValueKind.String ? item.GetString()! : item.GetRawText();
            return LoraTargets.TryParse(name, out var target)
                ? target
                : throw error($"unknown target module '{name}' in 'target_modules'; LLaMA adapters may target " +
                              string.Join(", ", LoraTargets.All.Select(t => t.PeftName())));
        }).ToArray();
    }
}
