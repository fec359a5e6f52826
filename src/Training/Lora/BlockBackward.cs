using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// What differs between the CPU trainers' backward passes through a block: how a projection passes its gradient
/// (LoRA adapters on a frozen base, or full weight gradients) and whether a norm's weight gets one.
/// </summary>
internal interface IBlockGradients
{
    /// <summary>dx (+)= the input gradient of projection <paramref name="target"/> given x [n, in] and dy [n, out], plus its parameters' gradients; an empty dx skips it.</summary>
    void Linear(LoraTarget target, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int n, Span<float> dx, bool accumulate);

    /// <summary>dx = the input gradient of the attention norm (<paramref name="mlp"/> false) or the MLP norm.</summary>
    void Norm(bool mlp, ReadOnlySpan<float> x, int n, ReadOnlySpan<float> dy, Span<float> dx);
}

/// <summary>
/// The backward pass through one transformer block on the CPU, after its forward left the activations in a
/// <see cref="LayerBuffers"/>: the one sequence of kernels the LoRA trainer and full-parameter pretraining share.
/// </summary>
internal static class BlockBackward
{
    /// <summary>
    /// Turns <paramref name="gradient"/> [n, hidden] (n tokens of packed sequences, sequence s rows
    /// bounds[s] .. bounds[s + 1] − 1, attending only within itself), the loss's gradient at the block's output, into the gradient at
    /// its input in place. Without <paramref name="inputGradient"/> (the first block of a LoRA pass) it stops once
    /// the parameters have their gradients.
    /// </summary>
    public static void Run<T>(ref T ops, LlamaConfig config, LayerBuffers b, CpuAttention attention, CpuRopeTable rope,
        ReadOnlySpan<float> input, Span<float> gradient, ReadOnlySpan<int> bounds, ReadOnlySpan<int> positions, bool inputGradient)
        where T : IBlockGradients
    {
        var n = bounds[^1];
        int d = config.HiddenSize, kv = config.KvDim, f = config.IntermediateSize, heads = config.Heads, headDim = config.HeadDim;
        gradient = gradient[..(n * d)];
        var normGradient = b.NormInputGradient.AsSpan(0, n * d);
        var residualGradient = b.NormOutputGradient.AsSpan(0, n * d);
        var productGradient = b.ProductGradient.AsSpan(0, n * f);
        var gateGradient = b.GateGradient.AsSpan(0, n * f);
        var upGradient = b.UpGradient.AsSpan(0, n * f);
        var attentionGradient = b.AttentionGradient.AsSpan(0, n * d);
        var queryGradient = b.QueryGradient.AsSpan(0, n * d);
        var keyGradient = b.KeyGradient.AsSpan(0, n * kv);
        var valueGradient = b.ValueGradient.AsSpan(0, n * kv);
        var mlpInput = b.MlpInput.AsSpan(0, n * d);
        var normed = b.AttentionInput.AsSpan(0, n * d);

        // MLP half: residual += down(swiglu(gate(m), up(m))), m = norm(residual).
        ops.Linear(LoraTarget.Down, b.Product.AsSpan(0, n * f), gradient, n, productGradient, false);
        CpuSwiGlu.Backward(b.Gate.AsSpan(0, n * f), b.Up.AsSpan(0, n * f), productGradient, gateGradient, upGradient);
        ops.Linear(LoraTarget.Gate, mlpInput, gateGradient, n, normGradient, false);
        ops.Linear(LoraTarget.Up, mlpInput, upGradient, n, normGradient, true);
        ops.Norm(true, b.Residual.AsSpan(0, n * d), n, normGradient, residualGradient);
        CpuResidual.Add(gradient, residualGradient);

        // Attention half: residual = input + o(attention(rope(q(a)), rope(k(a)), v(a))), a = norm(input).
        ops.Linear(LoraTarget.Output, b.Attention.AsSpan(0, n * d), gradient, n, attentionGradient, false);
        // The whole key and value buffers go in, as in the forward.
        CpuSegmentedAttention.Backward(attention, b.Query.AsSpan(0, n * d), b.Key, b.Value, bounds, heads, config.KvHeads, headDim,
            attentionGradient, queryGradient, keyGradient, valueGradient);
        CpuRope.ApplyBackward(queryGradient, n, heads, headDim, positions, rope);
        CpuRope.ApplyBackward(keyGradient, n, config.KvHeads, headDim, positions, rope);
        var normedGradient = inputGradient ? normGradient : default;
        ops.Linear(LoraTarget.Query, normed, queryGradient, n, normedGradient, false);
        ops.Linear(LoraTarget.Key, normed, keyGradient, n, normedGradient, true);
        ops.Linear(LoraTarget.Value, normed, valueGradient, n, normedGradient, true);
        if (!inputGradient) return;
        ops.Norm(false, input[..(n * d)], n, normGradient, residualGradient);
        CpuResidual.Add(gradient, residualGradient);
    }
}
