using Dromedary.Kernels.Gpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Training.Lora;

/// <summary>
/// <see cref="TrainingLayer"/> on the device: one transformer layer with its LoRA projections over a block of packed
/// sequences, the forward as the CPU pass runs it (same ops, same order, each sequence's positions from 0,
/// attention within each sequence) and its backward, given the layer's saved input.
/// </summary>
internal sealed class GpuTrainingLayer
{
    private readonly GpuTrainingOps _ops;
    private readonly LlamaConfig _config;
    private readonly float _eps;
    private readonly GpuRopeTable _rope;
    private readonly ArrayView<float> _attentionNorm, _mlpNorm;
    private readonly GpuLoraLinear[] _projections = new GpuLoraLinear[LoraTargets.All.Length];

    /// <param name="views">The device views of each adapted projection's matrices, by target; absent when not adapted.</param>
    public GpuTrainingLayer(GpuTrainingOps ops, LlamaModel model, LoraAdapter adapter, int layer, IReadOnlyDictionary<LoraMatrices, GpuLoraViews> views)
    {
        _ops = ops;
        _config = model.Config;
        _eps = (float)_config.RmsNormEps;
        _rope = (GpuRopeTable)model.Rope;
        var weights = model.Layers[layer];
        (_attentionNorm, _mlpNorm) = (((GpuVector)weights.AttentionNorm).View, ((GpuVector)weights.MlpNorm).View);
        foreach (var target in LoraTargets.All)
        {
            var lora = adapter.Find(layer, target);
            _projections[(int)target] = new GpuLoraLinear(ops, weights.Projection(target), lora, lora == null ? default : views[lora]);
        }
    }

    /// <summary>
    /// Runs the block on <paramref name="input"/> [n, hidden], leaving its activations in <paramref name="b"/>. Without
    /// <paramref name="output"/> it stops after the SwiGLU product: that is all the backward needs.
    /// </summary>
    /// <param name="positions">The block's positions on the device (<see cref="TokenBlock.Positions"/>).</param>
    public void Forward(GpuLoraWorkspace work, GpuLayerBuffers b, ArrayView<float> input, ArrayView<float>? output, TokenBlock block,
        ArrayView<int> positions)
    {
        var n = block.Tokens;
        positions = positions.SubView(0, n);
        int d = _config.HiddenSize, kv = _config.KvDim, f = _config.IntermediateSize, heads = _config.Heads, headDim = _config.HeadDim;
        input = input.Rows(n, d);
        var normed = b.AttentionInput.Rows(n, d);
        var query = b.Query.Rows(n, d);
        var keys = b.Key.Rows(n, kv);
        var values = b.Value.Rows(n, kv);
        var attention = b.Attention.Rows(n, d);
        var projection = b.Projection.Rows(n, d);
        var residual = b.Residual.Rows(n, d);
        var mlpInput = b.MlpInput.Rows(n, d);

        _ops.RmsNorm.Forward(input, _attentionNorm, _eps, n, normed);
        Projection(LoraTarget.Query).Forward(work, normed, n, query, block);
        Projection(LoraTarget.Key).Forward(work, normed, n, keys, block);
        Projection(LoraTarget.Value).Forward(work, normed, n, values, block);
        _ops.Rope.Apply(query, positions, _rope.Cos, _rope.Sin, heads, headDim);
        _ops.Rope.Apply(keys, positions, _rope.Cos, _rope.Sin, _config.KvHeads, headDim);
        GpuSegmentedAttention.Forward(_ops.Attention, query, keys, values, block.Bounds, heads, _config.KvHeads, headDim, attention);
        Projection(LoraTarget.Output).Forward(work, attention, n, projection, block);
        input.CopyTo(residual);
        _ops.Residual.Add(residual, projection);

        _ops.RmsNorm.Forward(residual, _mlpNorm, _eps, n, mlpInput);
        Projection(LoraTarget.Gate).Forward(work, mlpInput, n, b.Gate.Rows(n, f), block);
        Projection(LoraTarget.Up).Forward(work, mlpInput, n, b.Up.Rows(n, f), block);
        _ops.SwiGlu.Forward(b.Gate.Rows(n, f), b.Up.Rows(n, f), b.Product.Rows(n, f));
        if (output is not { } target) return;
        Projection(LoraTarget.Down).Forward(work, b.Product, n, projection, block);
        residual.CopyTo(target.Rows(n, d));
        _ops.Residual.Add(target.Rows(n, d), projection);
    }

    /// <summary>
    /// After <see cref="Forward"/> on the same input: turns <paramref name="gradient"/> [n, hidden], the loss's
    /// gradient at the block's output, into the gradient at its input, adding the adapter's gradients on the way.
    /// Without <paramref name="inputGradient"/> (the first block) the input gradient is not computed.
    /// </summary>
    public void Backward(GpuLoraWorkspace work, GpuLayerBuffers b, ArrayView<float> input, ArrayView<float> gradient, TokenBlock block,
        ArrayView<int> positions, bool inputGradient)
    {
        var n = block.Tokens;
        positions = positions.SubView(0, n);
        int d = _config.HiddenSize, kv = _config.KvDim, f = _config.IntermediateSize, heads = _config.Heads, headDim = _config.HeadDim;
        gradient = gradient.Rows(n, d);
        var normGradient = b.NormInputGradient.Rows(n, d);
        var residualGradient = b.NormOutputGradient.Rows(n, d);
        var productGradient = b.ProductGradient.Rows(n, f);
        var gateGradient = b.GateGradient.Rows(n, f);
        var upGradient = b.UpGradient.Rows(n, f);
        var attentionGradient = b.AttentionGradient.Rows(n, d);
        var queryGradient = b.QueryGradient.Rows(n, d);
        var keyGradient = b.KeyGradient.Rows(n, kv);
        var valueGradient = b.ValueGradient.Rows(n, kv);
        var mlpInput = b.MlpInput.Rows(n, d);
        var normed = b.AttentionInput.Rows(n, d);

        // MLP half: residual += down(swiglu(gate(m), up(m))), m = norm(residual).
        Projection(LoraTarget.Down).Backward(work, b.Product, gradient, n, productGradient, false, block);
        _ops.SwiGlu.Backward(b.Gate.Rows(n, f), b.Up.Rows(n, f), productGradient, gateGradient, upGradient);
        Projection(LoraTarget.Gate).Backward(work, mlpInput, gateGradient, n, normGradient, false, block);
        Projection(LoraTarget.Up).Backward(work, mlpInput, upGradient, n, normGradient, true, block);
        _ops.RmsNorm.Backward(b.Residual.Rows(n, d), _mlpNorm, _eps, n, normGradient, residualGradient);
        _ops.Residual.Add(gradient, residualGradient);

        // Attention half: residual = input + o(attention(rope(q(a)), rope(k(a)), v(a))), a = norm(input).
        Projection(LoraTarget.Output).Backward(work, b.Attention, gradient, n, attentionGradient, false, block);
        GpuSegmentedAttention.Backward(_ops.Attention, b.Query.Rows(n, d), b.Key.Rows(n, kv), b.Value.Rows(n, kv), block.Bounds, heads,
            _config.KvHeads, headDim, attentionGradient, queryGradient, keyGradient, valueGradient);
        _ops.Rope.ApplyBackward(queryGradient, positions, _rope.Cos, _rope.Sin, heads, headDim);
        _ops.Rope.ApplyBackward(keyGradient, positions, _rope.Cos, _rope.Sin, _config.KvHeads, headDim);
        ArrayView<float>? normedGradient = inputGradient ? normGradient : null;
        Projection(LoraTarget.Query).Backward(work, normed, queryGradient, n, normedGradient, false, block);
        Projection(LoraTarget.Key).Backward(work, normed, keyGradient, n, normedGradient, true, block);
        Projection(LoraTarget.Value).Backward(work, normed, valueGradient, n, normedGradient, true, block);
        if (!inputGradient) return;
        _ops.RmsNorm.Backward(input.Rows(n, d), _attentionNorm, _eps, n, normGradient, residualGradient);
        _ops.Residual.Add(gradient, residualGradient);
    }

    private GpuLoraLinear Projection(LoraTarget target) => _projections[(int)target];
}
