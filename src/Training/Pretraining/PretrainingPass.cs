using System.Runtime.InteropServices;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Lora;
using Dromedary.Training.Lora;

namespace Dromedary.Training.Pretraining;

/// <summary>
/// The CPU forward and backward pass of full-parameter fp32 training: every weight gets its gradient. The forward
/// is the one LlamaSession runs (same kernels and order, positions from 0); each layer's activations are kept
/// (small models only, so no recompute), then the backward walks the layers in reverse. Linears are plain fp32
/// GEMMs on [out, in] weights: y = x·Wᵀ, dx = dy·W, dW += dyᵀ·x. All buffers are sized for
/// <see cref="MaxTokens"/> here, so a step allocates nothing. One call at a time.
/// </summary>
public sealed class PretrainingPass : IDisposable
{
    private readonly LlamaConfig _config;
    private readonly float _eps;
    private readonly Fp32Gemm _gemm;
    private readonly CpuAttention _attention;
    private readonly CpuRopeTable _rope;
    private readonly LayerBuffers[] _buffers;
    private readonly float[][] _layerInputs;
    private readonly float[] _gradient, _normed, _normedGradient, _logits;
    private readonly int[] _positions;

    public PretrainingPass(LlamaConfig config, WorkerPool pool, int maxTokens)
    {
        if (maxTokens < 1 || maxTokens > config.MaxPositions)
            throw new DromedaryException($"the training sequence length must be 1 .. {config.MaxPositions} tokens (max_position_embeddings), not {maxTokens}.");
        _config = config;
        _eps = (float)config.RmsNormEps;
        MaxTokens = maxTokens;
        _gemm = new Fp32Gemm(pool);
        _attention = new CpuAttention(pool);
        _rope = new CpuRopeTable(config.HeadDim, config.RopeTheta, maxTokens);
        _buffers = new LayerBuffers[config.Layers];
        for (var l = 0; l < config.Layers; l++) _buffers[l] = LayerBuffers.Create(config, maxTokens);
        int d = config.HiddenSize;
        _layerInputs = new float[config.Layers + 1][];
        for (var l = 0; l <= config.Layers; l++) _layerInputs[l] = new float[(long)maxTokens * d];
        _gradient = new float[(long)maxTokens * d];
        _normed = new float[(long)maxTokens * d];
        _normedGradient = new float[(long)maxTokens * d];
        _logits = new float[(long)maxTokens * config.VocabSize];
        _positions = Enumerable.Range(0, maxTokens).ToArray();
    }

    public int MaxTokens { get; }

    /// <summary>
    /// Runs one window forward and backward: tokens[0 .. n−1] predict tokens[1 .. n] (n = tokens.Length − 1), and
    /// lossScale·∂(Σ token losses)/∂weights is added into <paramref name="gradients"/>.
    /// </summary>
    /// <returns>lossScale · Σ token losses.</returns>
    public double ForwardBackward(ModelTensors weights, ReadOnlySpan<int> tokens, float lossScale, ModelTensors gradients)
    {
        var n = tokens.Length - 1;
        if (n < 1 || n > MaxTokens) throw new ArgumentException($"a window holds 2 .. {MaxTokens + 1} tokens, not {tokens.Length}", nameof(tokens));
        int d = _config.HiddenSize, vocab = _config.VocabSize;
        var inputs = tokens[..n];
        var positions = _positions.AsSpan(0, n);
        CpuEmbedding.Forward(MemoryMarshal.AsBytes(weights.Embedding.AsSpan()), ScalarType.F32, d, inputs, _layerInputs[0].AsSpan(0, n * d));
        for (var l = 0; l < _config.Layers; l++) LayerForward(weights, l, n, positions);

        // Head: final norm, logits, fused cross-entropy; its gradient goes back into the residual stream.
        var last = _layerInputs[^1].AsSpan(0, n * d);
        var normed = _normed.AsSpan(0, n * d);
        var logits = _logits.AsSpan(0, n * vocab);
        var gradient = _gradient.AsSpan(0, n * d);
        CpuRmsNorm.Forward(last, weights.FinalNorm, _eps, n, normed);
        _gemm.MultiplyTransposedB(normed, weights.Head, logits, n, vocab, d);
        CpuCrossEntropy.ForwardBackward(logits, vocab, tokens[1..], lossScale, logits, out var lossSum, out _);
        _gemm.MultiplyTransposedA(logits, normed, gradients.Head, vocab, d, n, accumulate: true);
        _gemm.Multiply(logits, weights.Head, _normedGradient, n, d, vocab);
        CpuRmsNorm.Backward(last, weights.FinalNorm, _eps, n, _normedGradient, gradient, gradients.FinalNorm);

        ReadOnlySpan<int> window = [0, n]; // one sequence
        for (var l = _config.Layers - 1; l >= 0; l--)
        {
            var ops = new WeightGradients(this, weights, gradients, l);
            BlockBackward.Run(ref ops, _config, _buffers[l], _attention, _rope, _layerInputs[l], _gradient, window, positions, inputGradient: true);
        }
        CpuEmbedding.Backward(gradient, d, inputs, gradients.Embedding);
        return lossSum * lossScale;
    }

    private void LayerForward(ModelTensors w, int layer, int n, ReadOnlySpan<int> positions)
    {
        int d = _config.HiddenSize, kv = _config.KvDim, f = _config.IntermediateSize, heads = _config.Heads, headDim = _config.HeadDim;
        var b = _buffers[layer];
        var input = _layerInputs[layer].AsSpan(0, n * d);
        var normed = b.AttentionInput.AsSpan(0, n * d);
        var query = b.Query.AsSpan(0, n * d);
        var keys = b.Key.AsSpan(0, n * kv);
        var residual = b.Residual.AsSpan(0, n * d);
        var projection = b.Projection.AsSpan(0, n * d);
        var mlpInput = b.MlpInput.AsSpan(0, n * d);

        CpuRmsNorm.Forward(input, w.AttentionNorm(layer), _eps, n, normed);
        Linear(normed, w, layer, LoraTarget.Query, n, query);
        Linear(normed, w, layer, LoraTarget.Key, n, keys);
        Linear(normed, w, layer, LoraTarget.Value, n, b.Value.AsSpan(0, n * kv));
        CpuRope.Apply(query, n, heads, headDim, positions, _rope);
        CpuRope.Apply(keys, n, _config.KvHeads, headDim, positions, _rope);
        // The whole key and value buffers go in as the cache: the kernel sizes its scratch by their length, once.
        _attention.Forward(query, b.Key, b.Value, n, 0, heads, _config.KvHeads, headDim, b.Attention.AsSpan(0, n * d));
        Linear(b.Attention.AsSpan(0, n * d), w, layer, LoraTarget.Output, n, projection);
        input.CopyTo(residual);
        CpuResidual.Add(residual, projection);

        CpuRmsNorm.Forward(residual, w.MlpNorm(layer), _eps, n, mlpInput);
        Linear(mlpInput, w, layer, LoraTarget.Gate, n, b.Gate.AsSpan(0, n * f));
        Linear(mlpInput, w, layer, LoraTarget.Up, n, b.Up.AsSpan(0, n * f));
        CpuSwiGlu.Forward(b.Gate.AsSpan(0, n * f), b.Up.AsSpan(0, n * f), b.Product.AsSpan(0, n * f));
        Linear(b.Product.AsSpan(0, n * f), w, layer, LoraTarget.Down, n, projection);
        var output = _layerInputs[layer + 1].AsSpan(0, n * d);
        residual.CopyTo(output);
        CpuResidual.Add(output, projection);
    }

    /// <summary>y[n, out] = x[n, in] · Wᵀ.</summary>
    private void Linear(ReadOnlySpan<float> x, ModelTensors w, int layer, LoraTarget target, int n, Span<float> y)
    {
        var (outputs, inputs) = target.Shape(_config);
        _gemm.MultiplyTransposedB(x, w.Projection(layer, target), y, n, outputs, inputs);
    }

    /// <summary>Full-parameter gradients for a block's backward: dW += dyᵀ · x and dx (+)= dy · W, norms with their weights' gradients.</summary>
    private readonly struct WeightGradients(PretrainingPass pass, ModelTensors w, ModelTensors g, int layer) : IBlockGradients
    {
        public void Linear(LoraTarget target, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int n, Span<float> dx, bool accumulate)
        {
            var (outputs, inputs) = target.Shape(pass._config);
            pass._gemm.MultiplyTransposedA(dy, x, g.Projection(layer, target), outputs, inputs, n, accumulate: true);
            pass._gemm.Multiply(dy, w.Projection(layer, target), dx, n, inputs, outputs, accumulate);
        }

        public void Norm(bool mlp, ReadOnlySpan<float> x, int n, ReadOnlySpan<float> dy, Span<float> dx) =>
            CpuRmsNorm.Backward(x, mlp ? w.MlpNorm(layer) : w.AttentionNorm(layer), pass._eps, n, dy, dx,
                mlp ? g.MlpNorm(layer) : g.AttentionNorm(layer));
    }

    public void Dispose() => _gemm.Dispose();
}
