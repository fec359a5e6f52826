using System.Text.Json;
using Dromedary.Model.Config;
using Xunit;

namespace Dromedary.Tests.Model;

public class ConfigTests
{
    private const string Llama2 = """
        {"model_type": "llama", "hidden_size": 8192, "intermediate_size": 28672, "num_attention_heads": 64,
         "num_key_value_heads": 8, "num_hidden_layers": 80, "rms_norm_eps": 1e-5, "vocab_size": 32000,
         "max_position_embeddings": 4096, "torch_dtype": "float16", "rope_theta": 10000.0, "tie_word_embeddings": false}
        """;

    private static LlamaConfig Parse(string json) => LlamaConfig.Parse(JsonDocument.Parse(json).RootElement, "config.json");

    [Fact]
    public void Reads_the_tiny_fixture()
    {
        var config = LlamaConfig.Load(Fixtures.TinyLlama("f32"));
        Assert.Equal((96, 200, 6, 2, 3, 520), (config.HiddenSize, config.IntermediateSize, config.Heads, config.KvHeads, config.Layers, config.VocabSize));
        Assert.Equal(16, config.HeadDim);
        Assert.Equal(50000, config.RopeTheta);
        Assert.Equal(1e-6, config.RmsNormEps);
        Assert.False(config.TieWordEmbeddings);
    }

    [Fact]
    public void Reads_llama2_70b_with_grouped_query_heads()
    {
        var config = Parse(Llama2);
        Assert.Equal(8, config.KvHeads);
        Assert.Equal(1024, config.KvDim);
        Assert.Equal(4096, config.MaxPositions);
        Assert.Equal("float16", config.TorchDtype);
    }

    [Fact]
    public void Llama1_defaults_kv_heads_theta_and_accepts_max_sequence_length()
    {
        var config = Parse("""
            {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32,
             "num_hidden_layers": 32, "rms_norm_eps": 1e-6, "vocab_size": 32000, "max_sequence_length": 2048}
            """);
        Assert.Equal(32, config.KvHeads);
        Assert.Equal(10000, config.RopeTheta);
        Assert.Equal(2048, config.MaxPositions);
    }

    [Theory]
    [InlineData("\"model_type\": \"llama\"", "\"model_type\": \"mistral\"", "model_type 'mistral' is not supported")]
    [InlineData("\"hidden_size\": 8192,", "", "'hidden_size' is missing")]
    [InlineData("\"hidden_size\": 8192", "\"hidden_size\": \"big\"", "'hidden_size' must be a whole number")]
    [InlineData("\"num_key_value_heads\": 8", "\"num_key_value_heads\": 7", "not a multiple of num_key_value_heads 7")]
    [InlineData("\"vocab_size\": 32000", "\"vocab_size\": -1", "'vocab_size' must be positive")]
    [InlineData("\"rope_theta\": 10000.0", "\"rope_theta\": 10000.0, \"rope_scaling\": {\"type\": \"linear\"}", "rope_scaling is set")]
    public void Refuses_what_it_cannot_run(string find, string replace, string message)
    {
        var error = Assert.Throws<DromedaryException>(() => Parse(Llama2.Replace(find, replace)));
        Assert.Contains(message, error.Message);
        Assert.StartsWith("config.json:", error.Message);
    }

    [Fact]
    public void Malformed_json_names_the_file()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "config.json");
        File.WriteAllText(path, "{\"model_type\": ");
        var error = Assert.Throws<DromedaryException>(() => LlamaConfig.Load(dir.Path));
        Assert.Contains(path, error.Message);
        Assert.Contains("not valid JSON", error.Message);
    }
}
