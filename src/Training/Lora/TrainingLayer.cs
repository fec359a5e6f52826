using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// One transformer layer with its LoRA projections over a block of packed sequences: the forward as LlamaSession
/// runs it (same kernels, same order, each sequence's positions from 0, attention within each sequence), and its backward for the adapter's gradients, given the block's saved input.
/// </summary>
internal sealed class TrainingLayer
{
    private readonly CpuBaseModel _model;
    private readonly LlamaConfig _config;
    private readonly float _eps;
    private readonly VectorWeight _attentionNorm, _mlpNorm;
    private readonly LoraLinear[] _projections = new LoraLinear[LoraTargets.All.Length];

    /// <summary>Per target, the index of its matrices in the adapter and the gradients; −1 when not adapted.</summary>
    private readonly int[] _matrixIndex = new int[LoraTargets.All.Length];

    public TrainingLayer(CpuBaseModel model, LoraAdapter adapter, int layer)
    {
        _model = model;
        _config = model.Model.Config;
        _eps = (float)_config.RmsNormEps;
        var weights = model.Model.Layers[layer];
        (_attentionNorm, _mlpNorm) = (weights.AttentionNorm, weights.MlpNorm);
        var matrices = adapter.Matrices.ToList();
        foreach (var target in LoraTargets.All)
        {
            var lora = adapter.Find(layer, target);
            _matrixIndex[(int)target] = lora == null ? -1 : matrices.IndexOf(lora);
            _projections[(int)target] = new LoraLinear(model.Set, model.Projection(layer, target), lora);
        }
    }

    /// <summary>
    /// Runs the layer on <paramref name="input"/> [block tokens, hidden], leaving its activations in <paramref name="b"/>. With
    /// an empty <paramref name="output"/> it stops after the SwiGLU product: that is all the backward needs.
    /// </summary>
    public void Forward(LoraWorkspace work, LayerBuffers b, ReadOnlySpan<float> input, Span<float> output, TokenBlock block)
    {
        var n = block.Tokens;
        var positions = block.Positions;
        int d = _config.HiddenSize, kv = _config.KvDim, f = _config.IntermediateSize, heads = _config.Heads, headDim = _config.HeadDim;
        input = input[..(n * d)];
        var normed = b.AttentionInput.AsSpan(0, n * d);
        var query = b.Query.AsSpan(0, n * d);
        var keys = b.Key.AsSpan(0, n * kv);
        var attention = b.Attention.AsSpan(0, n * d);
        var projection = b.Projection.AsSpan(0, n * d);
        var residual = b.Residual.AsSpan(0, n * d);
        var mlpInput = b.MlpInput.AsSpan(0, n * d);
        var gate = b.Gate.AsSpan(0, n * f);
        var up = b.Up.AsSpan(0, n * f);
        var product = b.Product.AsSpan(0, n * f);

        CpuRmsNorm.Forward(input, CpuBaseModel.Values(_attentionNorm), _eps, n, normed);
        Projection(LoraTarget.Query).Forward(work, normed, n, query, block);
        Projection(LoraTarget.Key).Forward(work, normed, n, keys, block);
        Projection(LoraTarget.Value).Forward(work, normed, n, b.Value.AsSpan(0, n * kv), block);
        CpuRope.Apply(query, n, heads, headDim, positions, _model.Rope);
        CpuRope.Apply(keys, n, _config.KvHeads, headDim, positions, _model.Rope);
        // The whole key and value buffers go in: the kernel sizes its scratch by their length, once.
        CpuSegmentedAttention.Forward(_model.Set.CpuAttention, query, b.Key, b.Value, block.Bounds, heads, _config.KvHeads, headDim, attention);
        Projection(LoraTarget.Output).Forward(work, attention, n, projection, block);
        input.CopyTo(residual);
        CpuResidual.Add(residual, projection);

        CpuRmsNorm.Forward(residual, CpuBaseModel.Values(_mlpNorm), _eps, n, mlpInput);
        Projection(LoraTarget.Gate).Forward(work, mlpInput, n, gate, block);
        Projection(LoraTarget.Up).Forward(work, mlpInput, n, up, block);
        CpuSwiGlu.Forward(gate, up, product);
        if (output.IsEmpty) return;
        Projection(LoraTarget.Down).Forward(work, product, n, projection, block);
        output = output[..(n * d)];
        residual.CopyTo(output);
        CpuResidual.Add(output, projection);
    }

    /// <summary>
    /// After <see cref="Forward"/> on the same input: turns <paramref name="gradient"/> [block tokens, hidden], the loss's
    /// gradient at the layer's output, into the gradient at its input, adding the adapter's gradients on the way.
    /// Without <paramref name="inputGradient"/> (the first layer) the input gradient is not computed.
    /// </summary>
    public void Backward(LoraWorkspace work, LayerBuffers b, ReadOnlySpan<float> input, Span<float> gradient, TokenBlock block,
        bool inputGradient, LoraGradients gradients)
    {
        var ops = new AdapterGradients(this, work, gradients, block);
        BlockBackward.Run(ref ops, _config, b, _model.Set.CpuAttention, _model.Rope, input, gradient, block.Bounds, block.Positions, inputGradient);
    }

    private LoraLinear Projection(LoraTarget target) => _projections[(int)target];

    /// <summary>The LoRA pass's side of a block's backward: adapter gradients through frozen weights and norms.</summary>
    private readonly struct AdapterGradients(TrainingLayer layer, LoraWorkspace work, LoraGradients gradients, TokenBlock block) : IBlockGradients
    {
        public void Linear(LoraTarget target, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int n, Span<float> dx, bool accumulate)
        {
            var index = layer._matrixIndex[(int)target];
            Span<float> dA = index < 0 ? default : gradients.A[index], dB = index < 0 ? default : gradients.B[index];
            layer.Projection(target).Backward(work, x, dy, n, dx, accumulate, dA, dB, block);
        }

        public void Norm(bool mlp, ReadOnlySpan<float> x, int n, ReadOnlySpan<float> dy, Span<float> dx) =>
            CpuRmsNorm.Backward(x, CpuBaseModel.Values(mlp ? layer._mlpNorm : layer._attentionNorm), layer._eps, n, dy, dx);
    }
}
