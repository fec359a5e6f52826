using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// The CPU forward and backward pass of LoRA fine-tuning on a frozen base model (int8 or fp32 weights on a CPU
/// kernel set). Each sequence runs on its own, positions from 0 (right padding costs nothing: positions after the
/// last counted target are not run). The forward keeps only each block's input; the backward recomputes a block
/// from it before going back through it (per-layer activation checkpointing). Only the adapter gets gradients;
/// the base weights pass input gradients. All buffers are sized for <see cref="MaxTokens"/> here, so a step
/// allocates nothing. Uses the model's kernel set: run no session on it meanwhile.
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
    private readonly int[] _targets, _positions;
    private readonly int _headChunk;

    /// <param name="dropoutSeed">With the step, micro-batch and sequence index, fixes every dropout mask.</param>
    public LoraTrainingPass(LlamaModel model, LoraAdapter adapter, int maxTokens, ulong dropoutSeed)
        : this(model, adapter, maxTokens, dropoutSeed, HeadChunk)
    {
    }

    /// <param name="headChunk">Rows of logits at a time; tests make it small to run several chunks on a tiny model.</param>
    internal LoraTrainingPass(LlamaModel model, LoraAdapter adapter, int maxTokens, ulong dropoutSeed, int headChunk)
    {
        _model = new CpuBaseModel(model);
        _config = model.Config;
        adapter.CheckFits(_config, "being trained");
        TrainingTargets.CheckMaxTokens(maxTokens, _config);
        Adapter = adapter;
        MaxTokens = maxTokens;
        int d = _config.HiddenSize, layers = _config.Layers;
        _layers = new TrainingLayer[layers];
        for (var l = 0; l < layers; l++) _layers[l] = new TrainingLayer(_model, adapter, l);
        _buffers = new LayerBuffers(_config, maxTokens);
        var dropout = new LoraDropout(adapter.Config.Dropout, dropoutSeed);
        _work = new LoraWorkspace(_model.Set, maxTokens, WidestInput(_config, adapter.Config), adapter.Config.Rank, dropout);
        _layerInputs = new float[layers + 1][];
        for (var l = 0; l <= layers; l++) _layerInputs[l] = new float[(long)maxTokens * d];
        _headChunk = headChunk;
        var head = HeadShapes(_config, maxTokens, headChunk).ToDictionary(s => s.Name, s => new float[(long)s.Rows * s.Cols]);
        (_normed, _gradient, _logits) = (head["final normed"], head["residual gradient"], head["logits chunk"]);
        _targets = new int[maxTokens];
        _positions = Enumerable.Range(0, maxTokens).ToArray();
    }

    /// <summary>
    /// Rows of logits computed at once: the cross-entropy over the vocabulary runs on chunks of this many tokens,
    /// so the logits never take [tokens, vocab] (a GPU set chunks the same way; the memory plan assumes it).
    /// </summary>
    public const int HeadChunk = 1024;

    public LoraAdapter Adapter { get; }
    public int MaxTokens { get; }

    /// <summary>The head's buffers for sequences of up to <paramref name="maxTokens"/>: one list for the pass and the memory plan.</summary>
    public static IEnumerable<(string Name, int Rows, int Cols)> HeadShapes(LlamaConfig config, int maxTokens, int headChunk = HeadChunk) =>
    [
        ("final normed", maxTokens, config.HiddenSize), ("residual gradient", maxTokens, config.HiddenSize),
        ("logits chunk", Math.Min(maxTokens, headChunk), config.VocabSize),
    ];

    /// <summary>The widest input of an adapted projection, never less than the hidden size (see <see cref="LoraWorkspace"/>).</summary>
    internal static int WidestInput(LlamaConfig config, LoraConfig lora) =>
        lora.Targets.Select(t => t.Shape(config).In).Append(config.HiddenSize).Max();

    /// <summary>Bytes of every activation, gradient and scratch buffer the pass holds, as allocated.</summary>
    internal long ActivationBytes =>
        _layerInputs.Sum(x => (long)x.Length) * sizeof(float) + _buffers.Bytes + _work.Bytes
        + ((long)_normed.Length + _gradient.Length + _logits.Length) * sizeof(float);

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
        for (var s = 0; s < sequences.Count; s++) loss += Sequence(sequences[s], s, lossScale, gradients, new DropoutKey(step, firstSequence + s));
        return loss;
    }

    private double Sequence(TrainingSequence sequence, int index, float lossScale, LoraGradients gradients, in DropoutKey key)
    {
        var n = TrainingTargets.Fill(sequence, index, MaxTokens, _config.VocabSize, _targets);
        if (n == 0) return 0;
        int d = _config.HiddenSize, vocab = _config.VocabSize;
        var positions = _positions.AsSpan(0, n);
        CpuEmbedding.Forward(_model.EmbeddingTable.Span, _model.EmbeddingType, d, sequence.InputIds.AsSpan(0, n), _layerInputs[0].AsSpan(0, n * d));
        for (var l = 0; l < _layers.Length; l++)
            _layers[l].Forward(_work, _buffers, _layerInputs[l], _layerInputs[l + 1], n, positions, key);

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
            CpuCrossEntropy.ForwardBackward(logits, vocab, _targets.AsSpan(start, rows), lossScale, logits, out var chunkLoss, out _);
            _model.Set.LinearBackwardInput(logits, rows, _model.Model.Head, chunk);
            lossSum += chunkLoss;
        }
        CpuRmsNorm.Backward(last, finalNorm, eps, n, normed, _gradient);

        for (var l = _layers.Length - 1; l >= 0; l--)
        {
            // The last block's activations are still in the buffers from the forward: the head uses its own.
            if (l < _layers.Length - 1) _layers[l].Forward(_work, _buffers, _layerInputs[l], default, n, positions, key);
            _layers[l].Backward(_work, _buffers, _layerInputs[l], _gradient, n, positions, l > 0, gradients, key);
        }
        return lossSum * lossScale;
    }

    public void Dispose() => _work.Dispose();
}
