using System.Text.Json;
using System.Text.Json.Nodes;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Quantization;
using Dromedary.Model.Safetensors;
using Xunit;

namespace Dromedary.Tests.Lora;

/// <summary>PEFT adapter folders: layout, exact round trip, merging at load, and errors that name file and tensor.</summary>
public sealed class LoraAdapterFileTests
{
    private static LlamaConfig TinyConfig => LlamaConfig.Load(Fixtures.TinyLlama("f32"));

    [Fact]
    public void Save_and_load_round_trip_bit_exactly_in_Peft_layout()
    {
        using var dir = new TempDirectory();
        var adapter = LoraFixtures.RandomAdapter(TinyConfig, LoraFixtures.Config(dropout: 0.05));
        adapter.Save(dir.Path);
        Assert.Equal(["adapter_config.json", "adapter_model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());

        using (var file = SafetensorsFile.Open(dir["adapter_model.safetensors"]))
        {
            Assert.Equal("pt", file.Metadata["format"]);
            Assert.Equal(3 * 7 * 2, file.Tensors.Count);
            Assert.All(file.Tensors, t => Assert.Equal(ScalarType.F32, t.Type));
            long[] Shape(string name) => file.Tensors.Single(t => t.Name == name).Shape;
            Assert.Equal([4, 96], Shape("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
            Assert.Equal([96, 4], Shape("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"));
            Assert.Equal([32, 4], Shape("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"));
            Assert.Equal([200, 4], Shape("base_model.model.model.layers.2.mlp.up_proj.lora_B.weight"));
            Assert.Equal([4, 200], Shape("base_model.model.model.layers.2.mlp.down_proj.lora_A.weight"));
        }

        using (var json = JsonDocument.Parse(File.ReadAllBytes(dir["adapter_config.json"])))
        {
            var root = json.RootElement;
            Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
            Assert.Equal(4, root.GetProperty("r").GetInt32());
            Assert.Equal(8, root.GetProperty("lora_alpha").GetDouble());
            Assert.Equal(0.05, root.GetProperty("lora_dropout").GetDouble());
            Assert.Equal("none", root.GetProperty("bias").GetString());
            Assert.Equal("CAUSAL_LM", root.GetProperty("task_type").GetString());
            Assert.Equal("tiny-llama", root.GetProperty("base_model_name_or_path").GetString());
            Assert.Equal(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
        }

        var loaded = LoraAdapter.Load(dir.Path, TinyConfig);
        Assert.Equal(adapter.Config.Targets, loaded.Config.Targets);
        Assert.Equal(adapter.Config with { Targets = loaded.Config.Targets }, loaded.Config);
        Assert.Equal(adapter.Matrices.Count, loaded.Matrices.Count);
        for (var i = 0; i < adapter.Matrices.Count; i++)
        {
            Assert.Equal(adapter.Matrices[i].TensorName('A'), loaded.Matrices[i].TensorName('A'));
            Assert.Equal(adapter.Matrices[i].A.Select(BitConverter.SingleToInt32Bits), loaded.Matrices[i].A.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(adapter.Matrices[i].B.Select(BitConverter.SingleToInt32Bits), loaded.Matrices[i].B.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void A_loaded_adapter_merges_into_the_model_it_was_saved_from()
    {
        using var dir = new TempDirectory();
        var adapter = LoraFixtures.RandomAdapter(TinyConfig, LoraFixtures.Config());
        foreach (var m in adapter.Matrices) for (var i = 0; i < m.B.Length; i++) m.B[i] *= 5; // an effect well above int8 noise
        adapter.Save(dir.Path);
        var tokens = Fixtures.ReferenceLogprobs("f32")[1].Tokens;
        using var kernels = KernelRegistry.Create("cpu", 1);
        float[] LogProbs(string model, Precision precision, LoraAdapter? lora)
        {
            using var loaded = LlamaModel.Load(model, kernels, new ModelLoadOptions(precision, 0, lora));
            return Scoring.TokenLogProbs(loaded, tokens);
        }

        var fromMemory = LogProbs(Fixtures.TinyLlama("f32"), Precision.Fp32, adapter);
        var fromFile = LogProbs(Fixtures.TinyLlama("f32"), Precision.Fp32, LoraAdapter.Load(dir.Path, TinyConfig));
        Assert.Equal(fromMemory, fromFile);
        var unchanged = LogProbs(Fixtures.TinyLlama("f32"), Precision.Fp32, null);
        Assert.True(MaxError(fromMemory, unchanged) > 0.5, "the adapter should move the log-probs");

        // Quantized after merging: within int8 noise of the exact merge (Int8ForwardTests' bound; measured 0.11 on
        // this deliberately strong adapter). Merged into a stored int8 checkpoint, the weights are dequantized, merged
        // and quantized again: two roundings, measured 0.24, so twice the bound.
        Assert.True(MaxError(LogProbs(Fixtures.TinyLlama("f32"), Precision.Int8, adapter), fromMemory) < 0.15, "int8 quantized after merging");
        CheckpointQuantizer.Run(Fixtures.TinyLlama("f32"), dir["int8"], 0);
        Assert.True(MaxError(LogProbs(dir["int8"], Precision.Int8, adapter), fromMemory) < 0.3, "merged into an int8 checkpoint");
    }

    private static double MaxError(float[] actual, float[] expected) => actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max();

    [Fact]
    public void A_model_of_other_shapes_is_refused()
    {
        using var kernels = KernelRegistry.Create("cpu", 1);
        LoraAdapter For(LlamaConfig model) => LoraAdapter.Create(LoraFixtures.Config(), model, 1);
        Exception Error(LoraAdapter adapter) => Assert.Throws<DromedaryException>(() =>
            LlamaModel.Load(Fixtures.TinyLlama("f32"), kernels, new ModelLoadOptions(Precision.Fp32, 0, adapter)));
        Assert.Contains("the adapter has 2 layers, the model 3", Error(For(TinyConfig with { Layers = 2 })).Message);
        Assert.Contains("the adapter's gate_proj is 256×96, the model's 200×96", Error(For(TinyConfig with { IntermediateSize = 256 })).Message);
    }

    // ---- errors ----

    /// <summary>q and v only, as PEFT's default for LLaMA: 3 layers × 2 projections × (A, B).</summary>
    private static readonly LoraConfig QueryValue = new() { Rank = 4, Alpha = 16, Targets = [LoraTarget.Query, LoraTarget.Value] };

    private static List<(string Name, long[] Shape)> ValidTensors(LoraConfig config) =>
        LoraAdapter.Create(config, TinyConfig, 1).Matrices
            .SelectMany(m => new[] { (m.TensorName('A'), new long[] { m.Rank, m.In }), (m.TensorName('B'), new long[] { m.Out, m.Rank }) })
            .ToList();

    private static void WriteTensors(string directory, IEnumerable<(string Name, long[] Shape)> tensors)
    {
        var specs = tensors.Select(t => new TensorSpec(t.Name, ScalarType.F32, t.Shape)).ToList();
        using var writer = new SafetensorsWriter(Path.Combine(directory, LoraAdapter.WeightsFileName), specs);
        foreach (var spec in specs) writer.Write(spec.Name, new byte[spec.Shape.Aggregate(4L, (a, b) => a * b)]);
        writer.Complete();
    }

    private static DromedaryException LoadError(TempDirectory dir) =>
        Assert.Throws<DromedaryException>(() => LoraAdapter.Load(dir.Path, TinyConfig));

    /// <summary>An adapter folder saved from <see cref="QueryValue"/>, whose tensors the test then replaces.</summary>
    private static TempDirectory SavedQueryValue()
    {
        var dir = new TempDirectory();
        LoraAdapter.Create(QueryValue, TinyConfig, 1).Save(dir.Path);
        return dir;
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        using var dir = SavedQueryValue();
        const string missing = "base_model.model.model.layers.2.self_attn.v_proj.lora_B.weight";
        WriteTensors(dir.Path, ValidTensors(QueryValue).Where(t => t.Name != missing));
        var error = LoadError(dir);
        Assert.Contains(LoraAdapter.WeightsFileName, error.Message);
        Assert.Contains($"'{missing}' is missing", error.Message);
    }

    [Fact]
    public void A_wrong_shape_is_named()
    {
        using var dir = SavedQueryValue();
        const string bad = "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight";
        WriteTensors(dir.Path, ValidTensors(QueryValue).Select(t => t.Name == bad ? (t.Name, new long[] { 4, 95 }) : t));
        var error = LoadError(dir);
        Assert.Contains($"'{bad}' has shape [4, 95], but this model needs [4, 96]", error.Message);
    }

    [Fact]
    public void A_rank_other_than_r_is_named()
    {
        using var dir = SavedQueryValue();
        WriteTensors(dir.Path, ValidTensors(QueryValue with { Rank = 2 }));
        var error = LoadError(dir);
        Assert.Contains("'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' has rank 2, but r in adapter_config.json is 4", error.Message);
    }

    [Fact]
    public void Unknown_and_unlisted_targets_are_named()
    {
        using var dir = SavedQueryValue();
        const string unknown = "base_model.model.model.layers.0.mlp.fc_proj.lora_A.weight";
        WriteTensors(dir.Path, ValidTensors(QueryValue).Append((unknown, [4, 96])));
        Assert.Contains($"'{unknown}' adapts 'mlp.fc_proj', an unknown target", LoadError(dir).Message);

        const string unlisted = "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight";
        WriteTensors(dir.Path, ValidTensors(QueryValue).Append((unlisted, [4, 96])));
        Assert.Contains($"'{unlisted}' adapts k_proj, which target_modules in adapter_config.json does not list", LoadError(dir).Message);

        const string stray = "base_model.model.lm_head.lora_A.weight";
        WriteTensors(dir.Path, ValidTensors(QueryValue).Append((stray, [4, 96])));
        Assert.Contains($"'{stray}' is not a LoRA weight of a LLaMA layer projection", LoadError(dir).Message);
    }

    [Theory]
    [InlineData("target_modules", "[\"q_proj\", \"lm_head\"]", "unknown target module 'lm_head'")]
    [InlineData("target_modules", "\"q_proj|v_proj\"", "'target_modules' must be a list")]
    [InlineData("peft_type", "\"PREFIX_TUNING\"", "peft_type is 'PREFIX_TUNING', not 'LORA'")]
    [InlineData("bias", "\"all\"", "training biases is not supported")]
    [InlineData("use_dora", "true", "DoRA is not supported")]
    [InlineData("r", "0", "rank r must be at least 1")]
    public void Unsupported_configs_are_named(string field, string value, string message)
    {
        using var dir = SavedQueryValue();
        var path = dir["adapter_config.json"];
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config[field] = JsonNode.Parse(value);
        File.WriteAllText(path, config.ToJsonString());
        var error = LoadError(dir);
        Assert.Contains(path, error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_folder_without_an_adapter_is_named()
    {
        using var dir = new TempDirectory();
        Assert.Contains("adapter_config.json: no such file", LoadError(dir).Message);
        LoraAdapter.Create(QueryValue, TinyConfig, 1).Save(dir.Path);
        File.Delete(dir["adapter_model.safetensors"]);
        Assert.Contains("adapter_model.safetensors: no such file", LoadError(dir).Message);
    }
}
