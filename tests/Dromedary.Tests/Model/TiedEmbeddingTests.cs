using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Safetensors;
using Xunit;

namespace Dromedary.Tests.Model;

/// <summary>tie_word_embeddings: the LM head is the embedding matrix, and no lm_head.weight is stored.</summary>
public class TiedEmbeddingTests
{
    /// <summary>Copies the f32 fixture, replacing lm_head.weight by the embedding (or dropping it when tied).</summary>
    private static string Variant(TempDirectory dir, bool tied)
    {
        var source = Fixtures.TinyLlama("f32");
        var target = dir.CreateSubdirectory(tied ? "tied" : "copied");
        using var checkpoint = Checkpoint.Open(source);
        var tensors = checkpoint.Tensors.Where(t => !(tied && t.Name == TensorNames.Head)).ToList();
        var specs = tensors.Select(t => new TensorSpec(t.Name, t.Type, t.Shape)).ToList();
        using (var writer = new SafetensorsWriter(Path.Combine(target, "model.safetensors"), specs))
        {
            foreach (var tensor in tensors)
                writer.Write(tensor.Name, checkpoint.Span(tensor.Name == TensorNames.Head ? checkpoint.Get(TensorNames.Embedding) : tensor));
            writer.Complete();
        }
        File.Copy(Path.Combine(source, "tokenizer.model"), Path.Combine(target, "tokenizer.model"));
        var config = File.ReadAllText(Path.Combine(source, "config.json"));
        File.WriteAllText(Path.Combine(target, "config.json"),
            tied ? config.Replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true") : config);
        return target;
    }

    [Fact]
    public void A_tied_model_uses_the_embedding_as_its_head()
    {
        using var dir = new TempDirectory();
        var tokens = Fixtures.ReferenceLogprobs("f32")[1].Tokens;
        using var kernels = Dromedary.Kernels.KernelRegistry.Create("cpu", 2);
        using var tied = LlamaModel.Load(Variant(dir, tied: true), kernels, new ModelLoadOptions(Precision.Fp32));
        using var copied = LlamaModel.Load(Variant(dir, tied: false), kernels, new ModelLoadOptions(Precision.Fp32));
        Assert.True(tied.Config.TieWordEmbeddings);
        Assert.Equal(Scoring.TokenLogProbs(copied, tokens), Scoring.TokenLogProbs(tied, tokens));
    }

    [Fact]
    public void An_untied_model_without_a_head_names_the_missing_tensor()
    {
        using var dir = new TempDirectory();
        var folder = Variant(dir, tied: true);
        var config = Path.Combine(folder, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false"));
        using var kernels = Dromedary.Kernels.KernelRegistry.Create("cpu", 1);
        var error = Assert.Throws<DromedaryException>(() => LlamaModel.Load(folder, kernels, new ModelLoadOptions(Precision.Fp32)));
        Assert.Contains("'lm_head.weight'", error.Message);
    }
}
