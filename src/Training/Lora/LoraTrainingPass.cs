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

    /// <param name="dropoutSeed">With the step, micro-batch and sequence index, fixes every dropout mask.</param>
    public LoraTrainingPass(LlamaModel model, LoraAdapter adapter, int maxTokens, ulong dropoutSeed)
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
        _work = new LoraWorkspace(_model.Set, maxTokens, Math.Max(d, _config.IntermediateSize), adapter.Config.Rank, dropout);
        _layerInputs = new float[layers + 1][];
        for (var l = 0; l <= layers; l++) _layerInputs[l] = new float[(long)maxTokens * d];
        _gradient = new float[(long)maxTokens * d];
        _normed = new float[(long)maxTokens * d];
        _logits = new float[(long)maxTokens * _config.VocabSize];
        _targets = new int[maxTokens];
        _positions = Enumerable.Range(0, maxTokens).ToArray();
    }

    public LoraAdapter Adapter { get; }
    public int MaxTokens { get; }

    /// <summary>
    /// Runs a micro-batch forward and backward and adds lossScale·∂(Σ token losses)/∂(A, B) into
    /// <paramref name="gradients"/>. Pass lossScale = 1 / (counted targets of the whole optimizer step) so the
    /// gradients summed over the step's micro-batches are those of the step's mean token loss.
    /// </summary>
    /// <param name="step">The optimizer step and <paramref name="microBatch"/> its micro-batch: they key the dropout masks.</param>
    /// <returns>lossScale · Σ counted token losses: summed over the step's micro-batches, the step's mean loss.</returns>
    public double ForwardBackward(IReadOnlyList<TrainingSequence> sequences, float lossScale, LoraGradients gradients, long step, int microBatch)
    {
        if (!gradients.Fits(Adapter)) throw new ArgumentException("the gradients were made for another adapter's shapes", nameof(gradients));
        var loss = 0.0;
        for (var s = 0; s < sequences.Count; s++) loss += Sequence(sequences[s], s, lossScale, gradients, new DropoutKey(step, microBatch, s));
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

        // Head: final norm, logits, fused cross-entropy; its gradient goes back into the residual stream.
        var last = _layerInputs[^1].AsSpan(0, n * d);
        var normed = _normed.AsSpan(0, n * d);
        var logits = _logits.AsSpan(0, n * vocab);
        var finalNorm = CpuBaseModel.Values(_model.Model.FinalNorm);
        var eps = (float)_config.RmsNormEps;
        CpuRmsNorm.Forward(last, finalNorm, eps, n, normed);
        _model.Set.Linear(normed, n, _model.Model.Head, logits);
        CpuCrossEntropy.ForwardBackward(logits, vocab, _targets.AsSpan(0, n), lossScale, logits, out var lossSum, out _);
        _model.Set.LinearBackwardInput(logits, n, _model.Model.Head, normed);
        CpuRmsNorm.Backward(last, finalNorm, eps, n, normed, _gradient);

        for (var l = _layers.Length - 1; l >= 0; l--)
        {
            _layers[l].Forward(_work, _buffers, _layerInputs[l], default, n, positions, key);
            _layers[l].Backward(_work, _buffers, _layerInputs[l], _gradient, n, positions, l > 0, gradients, key);
        }
        return lossSum * lossScale;
    }

    public void Dispose() => _work.Dispose();
}
