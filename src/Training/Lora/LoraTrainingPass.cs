using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// The CPU forward and backward pass of LoRA fine-tuning on a frozen base model (int8 or fp32 weights on a CPU
/// kernel set). A micro-batch's sequences are packed into blocks (<see cref="TokenBlock"/>: concatenated, no
/// padding, positions from 0 per sequence; right padding costs nothing, positions after a sequence's last counted
/// target are not run), and every op runs over a whole block; attention stays within each sequence. The forward
/// keeps only each layer's input; the backward recomputes a layer from it before going back through it (per-layer
/// activation checkpointing). Only the adapter gets gradients; the base weights pass input gradients. All buffers
/// are allocated here from <see cref="TrainingBuffers"/>' list, the one the memory plan sums, so a step allocates
/// nothing. Uses the model's kernel set: run no session on it meanwhile.
/// </summary>
public sealed class LoraTrainingPass : IDisposable
{
    private readonly CpuBaseModel _model;
    private readonly LlamaConfig _config;
    private readonly TrainingLayer[] _layers;
    private readonly LayerBuffers _buffers;
    private readonly LoraWorkspace _work;
    private readonly float[][] _layerInputs;
    private readonly float[] _gradient, _normed, _logits;
    private readonly TokenBlock _block;
    private readonly int _headChunk;

    /// <param name="maxTokens">The longest sequence.</param>
    /// <param name="dropoutSeed">With the step and the sequence's place in it, fixes every dropout mask.</param>
    /// <param name="maxSequences">Sequences of <paramref name="maxTokens"/> one block holds: the micro-batch. A call
    /// with more tokens than a block holds runs several blocks.</param>
    public LoraTrainingPass(LlamaModel model, LoraAdapter adapter, int maxTokens, ulong dropoutSeed, int maxSequences = 1)
        : this(model, adapter, maxTokens, dropoutSeed, maxSequences, TrainingBuffers.HeadChunk)
    {
    }

    /// <param name="headChunk">Rows of logits at a time; tests make it small to run several chunks on a tiny model.</param>
    internal LoraTrainingPass(LlamaModel model, LoraAdapter adapter, int maxTokens, ulong dropoutSeed, int maxSequences, int headChunk)
    {
        _model = new CpuBaseModel(model);
        _config = model.Config;
        adapter.CheckFits(_config, "being trained");
        TrainingTargets.CheckMaxTokens(maxTokens, _config);
        Adapter = adapter;
        MaxTokens = maxTokens;
        var blockTokens = TrainingTargets.BlockTokens(maxTokens, maxSequences);
        _layers = new TrainingLayer[_config.Layers];
        for (var l = 0; l < _layers.Length; l++) _layers[l] = new TrainingLayer(_model, adapter, l);

        // The activations of the list; the adapter, its gradients and moments are the adapter's and the engine's arrays.
        var list = TrainingBuffers.For(_config, adapter.Config, blockTokens, headChunk)
            .Where(b => b.Part >= TrainingMemory.SavedInputs && !b.DeviceOnly).ToList();
        var floats = list.Where(b => !b.Integer).ToDictionary(b => b.Name, b => new float[(long)b.Rows * b.Cols]);
        var ints = list.Where(b => b.Integer).ToDictionary(b => b.Name, b => new int[(long)b.Rows * b.Cols]);
        _buffers = new LayerBuffers(floats);
        _work = new LoraWorkspace(_model.Set, floats, new LoraDropout(adapter.Config.Dropout, dropoutSeed));
        _layerInputs = Enumerable.Range(0, _config.Layers + 1).Select(l => floats[$"layer {l} input"]).ToArray();
        (_normed, _gradient, _logits) = (floats["final normed"], floats["residual gradient"], floats["logits chunk"]);
        _block = new TokenBlock(ints["token ids"], ints["positions"], ints["targets"], maxTokens, _config.VocabSize);
        _headChunk = headChunk;
        ActivationBytes = list.Sum(b => (long)b.Rows * b.Cols * sizeof(int));
    }

    public LoraAdapter Adapter { get; }

    /// <summary>The longest sequence.</summary>
    public int MaxTokens { get; }

    /// <summary>Tokens one block holds.</summary>
    public int BlockTokens => _block.Capacity;

    /// <summary>Bytes of every activation, gradient, scratch and token buffer the pass holds, as allocated.</summary>
    internal long ActivationBytes { get; }

    /// <summary>
    /// Runs a micro-batch forward and backward and adds lossScale·∂(Σ token losses)/∂(A, B) into
    /// <paramref name="gradients"/>. Pass lossScale = 1 / (counted targets of the whole optimizer step) so the
    /// gradients summed over the step's micro-batches are those of the step's mean token loss.
    /// </summary>
    /// <param name="step">The optimizer step; with <paramref name="firstSequence"/>, the index of sequences[0] among the
    /// step's examples, it keys the dropout masks, so they do not depend on the micro-batch size.</param>
    /// <returns>lossScale · Σ counted token losses: summed over the step's micro-batches, the step's mean loss.</returns>
    public double ForwardBackward(IReadOnlyList<TrainingSequence> sequences, float lossScale, LoraGradients gradients, long step, int firstSequence)
    {
        if (!gradients.Fits(Adapter)) throw new ArgumentException("the gradients were made for another adapter's shapes", nameof(gradients));
        var loss = 0.0;
        for (var next = 0; next < sequences.Count;)
        {
            next = _block.Pack(sequences, next, step, firstSequence);
            if (_block.Tokens > 0) loss += Block(lossScale, gradients);
        }
        return loss;
    }

    private double Block(float lossScale, LoraGradients gradients)
    {
        var n = _block.Tokens;
        int d = _config.HiddenSize, vocab = _config.VocabSize;
        CpuEmbedding.Forward(_model.EmbeddingTable.Span, _model.EmbeddingType, d, _block.Ids, _layerInputs[0].AsSpan(0, n * d));
        for (var l = 0; l < _layers.Length; l++) _layers[l].Forward(_work, _buffers, _layerInputs[l], _layerInputs[l + 1], _block);

        // Head: final norm, then per chunk of rows logits and fused cross-entropy, whose gradient goes back
        // through the head into the normed rows; then into the residual stream.
        var last = _layerInputs[^1].AsSpan(0, n * d);
        var normed = _normed.AsSpan(0, n * d);
        var finalNorm = CpuBaseModel.Values(_model.Model.FinalNorm);
        var eps = (float)_config.RmsNormEps;
        CpuRmsNorm.Forward(last, finalNorm, eps, n, normed);
        var lossSum = 0.0;
        for (var start = 0; start < n; start += _headChunk)
        {
            var rows = Math.Min(_headChunk, n - start);
            var chunk = normed.Slice(start * d, rows * d);
            var logits = _logits.AsSpan(0, rows * vocab);
            _model.Set.Linear(chunk, rows, _model.Model.Head, logits);
            CpuCrossEntropy.ForwardBackward(logits, vocab, _block.Targets.Slice(start, rows), lossScale, logits, out var chunkLoss, out _);
            _model.Set.LinearBackwardInput(logits, rows, _model.Model.Head, chunk);
            lossSum += chunkLoss;
        }
        CpuRmsNorm.Backward(last, finalNorm, eps, n, normed, _gradient);

        for (var l = _layers.Length - 1; l >= 0; l--)
        {
            // The last layer's activations are still in the buffers from the forward: the head uses its own.
            if (l < _layers.Length - 1) _layers[l].Forward(_work, _buffers, _layerInputs[l], default, _block);
            _layers[l].Backward(_work, _buffers, _layerInputs[l], _gradient, _block, l > 0, gradients);
        }
        return lossSum * lossScale;
    }

    public void Dispose() => _work.Dispose();
}
