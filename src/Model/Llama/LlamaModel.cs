using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Generation;
using Dromedary.Model.Lora;
using Dromedary.Model.Planning;
using Dromedary.Model.Safetensors;

namespace Dromedary.Model.Llama;

/// <summary>
/// Options for loading a model: weight precision; when quantizing at load, the group size (0 = per row); a LoRA
/// adapter to merge; and what to plan memory for: sessions held at once and their context (default:
/// max_position_embeddings). Merging adds Scaling·B·A to each targeted fp32 weight before it is quantized (an int8
/// checkpoint is dequantized, merged and quantized again), so the merged model runs at the base model's speed and
/// an fp32 load gives PEFT's merge_and_unload weights up to fp32 rounding. <paramref name="Engine"/>: the batched
/// engine (or scorer) to plan memory for as well. <paramref name="Memory"/>: a plan to reserve in place of that
/// inference one (LoRA training passes its training plan, whose buffers its engine then carves); it must count
/// these weights at this precision and group size.
/// </summary>
public sealed record ModelLoadOptions(Precision Precision = Precision.Int8, int GroupSize = 0, LoraAdapter? Adapter = null,
    int Sequences = 1, int? Context = null, EngineOptions? Engine = null, MemoryPlan? Memory = null);

/// <summary>A LLaMA model's weights, loaded into one kernel set. Run it through a <see cref="LlamaSession"/>.</summary>
public sealed class LlamaModel : IDisposable
{
    private LlamaModel(LlamaConfig config, IKernelSet kernels, Precision precision, EmbeddingTable embedding,
        LayerWeights[] layers, VectorWeight finalNorm, LinearWeight head, RopeTable rope)
    {
        Config = config;
        Kernels = kernels;
        Precision = precision;
        Embedding = embedding;
        Layers = layers;
        FinalNorm = finalNorm;
        Head = head;
        Rope = rope;
    }

    public LlamaConfig Config { get; }
    public IKernelSet Kernels { get; }
    public Precision Precision { get; }
    internal EmbeddingTable Embedding { get; }
    internal LayerWeights[] Layers { get; }
    internal VectorWeight FinalNorm { get; }
    internal LinearWeight Head { get; }
    internal RopeTable Rope { get; }

    /// <summary>Bytes held by the matrix weights (the bulk of a model), as stored by the kernel set.</summary>
    public long LinearBytes => Layers.Sum(layer => layer.LinearBytes) + Head.Bytes;

    /// <summary>
    /// Loads a Hugging Face LLaMA folder (config.json + safetensors, single or sharded, F32/F16/BF16, or int8 as
    /// written by <c>dromedary quantize</c>). <paramref name="progress"/> receives (tensors done, total).
    /// </summary>
    public static LlamaModel Load(string directory, IKernelSet kernels, ModelLoadOptions options, IProgress<(int Done, int Total)>? progress = null)
    {
        var config = LlamaConfig.Load(directory);
        options.Adapter?.CheckFits(config, directory);
        using var checkpoint = Checkpoint.Open(directory);
        return Load(config, checkpoint, kernels, options, progress);
    }

    /// <summary>Loads a model of <paramref name="config"/>'s shape from any tensor source (a checkpoint, generated weights).</summary>
    public static LlamaModel Load(LlamaConfig config, ITensorSource checkpoint, IKernelSet kernels, ModelLoadOptions options,
        IProgress<(int Done, int Total)>? progress = null)
    {
        var context = options.Context ?? config.MaxPositions;
        var plan = options.Memory ?? InferencePlanner.Plan(config, kernels, options.Precision, options.GroupSize, options.Sequences,
            context, LlamaSession.DefaultChunk, options.Engine);
        kernels.ReserveMemory(plan.Total, plan.Int8);
        var description = $"hidden_size {config.HiddenSize}, intermediate_size {config.IntermediateSize}, " +
                          $"heads {config.Heads}, kv heads {config.KvHeads}, vocab_size {config.VocabSize}";
        using var loader = new WeightLoader(checkpoint, kernels, options.Precision, options.GroupSize, description);
        var total = 3 + config.Layers;
        var done = 0;
        var loaded = new List<IDisposable>();
        try
        {
            T Track<T>(T item) where T : IDisposable
            {
                loaded.Add(item);
                return item;
            }

            int d = config.HiddenSize, v = config.VocabSize;
            var embedding = Track(loader.Embedding(TensorNames.Embedding, v, d));
            progress?.Report((++done, total));
            var layers = new LayerWeights[config.Layers];
            for (var i = 0; i < layers.Length; i++)
            {
                string Name(string part) => TensorNames.LayerWeight(i, part);
                LinearWeight Projection(LoraTarget target)
                {
                    var (rows, cols) = target.Shape(config);
                    return Track(loader.Linear(Name(target.ModulePath()), rows, cols, options.Adapter?.Find(i, target)));
                }
                layers[i] = Track(new LayerWeights(
                    Track(loader.Vector(Name("input_layernorm"), d)),
                    Projection(LoraTarget.Query),
                    Projection(LoraTarget.Key),
                    Projection(LoraTarget.Value),
                    Projection(LoraTarget.Output),
                    Track(loader.Vector(Name("post_attention_layernorm"), d)),
                    Projection(LoraTarget.Gate),
                    Projection(LoraTarget.Up),
                    Projection(LoraTarget.Down)));
                progress?.Report((++done, total));
            }
            var finalNorm = Track(loader.Vector(TensorNames.FinalNorm, d));
            progress?.Report((++done, total));
            var headName = config.TieWordEmbeddings ? TensorNames.Embedding : TensorNames.Head;
            var head = Track(loader.Linear(headName, v, d));
            progress?.Report((++done, total));
            var rope = Track(kernels.CreateRope(config.HeadDim, config.RopeTheta, config.MaxPositions));
            return new LlamaModel(config, kernels, options.Precision, embedding, layers, finalNorm, head, rope);
        }
        catch
        {
            foreach (var item in loaded) item.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Embedding.Dispose();
        foreach (var layer in Layers) layer.Dispose();
        FinalNorm.Dispose();
        Head.Dispose();
        Rope.Dispose();
    }
}
