using System.Runtime.Intrinsics;
using Dromedary.Kernels;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// Dropout on a LoRA branch's input, as torch.nn.Dropout: each value is zeroed with probability p and the rest
/// scaled by 1/(1 − p). The mask is not drawn from a running generator but hashed from (seed, step, the sequence's place
/// in the step, layer, projection), so the backward pass's recomputation sees the forward's mask and a resumed run
/// draws exactly the masks an uninterrupted one would, however the step is split into micro-batches. Applying it to a gradient is its own backward.
/// </summary>
internal readonly struct LoraDropout(double probability, ulong seed)
{
    private readonly uint _threshold = (uint)Math.Min(uint.MaxValue, probability * 4294967296.0);
    private readonly float _keep = (float)(1 / (1 - probability));

    public bool Active => probability > 0;

    /// <summary>A value is zeroed when its 32 random bits are below this; the GPU kernel takes it as is.</summary>
    public uint Threshold => _threshold;

    /// <summary>1/(1 − p), the factor on the values kept.</summary>
    public float Keep => _keep;

    /// <summary>The mask stream of one projection while one sequence is processed.</summary>
    public ulong Stream(in DropoutKey key, int layer, LoraTarget target)
    {
        var h = Mix(seed, key.Step);
        h = Mix(h, key.Sequence);
        return Mix(h, layer * LoraTargets.All.Length + (int)target);
    }

    /// <summary>
    /// Applies the masks of a block's sequences to values [block tokens, width]: sequence s's rows take the stream
    /// of its own key, as when it runs alone.
    /// </summary>
    public void Apply(Span<float> values, int width, TokenBlock block, int layer, LoraTarget target)
    {
        var bounds = block.Bounds;
        for (var s = 0; s + 1 < bounds.Length; s++)
            Apply(values[(bounds[s] * width)..(bounds[s + 1] * width)], Stream(block.Key(s), layer, target));
    }

    private static ulong Mix(ulong h, long part) => new SplitMix64(h ^ (ulong)part).Next();

    /// <summary>
    /// Multiplies values (row-major, the mask's own layout) by the stream's mask; 32 random bits a value: the low
    /// then the high half of each draw of SplitMix64(stream). Eight draws are made at once in vector lanes (draw j's
    /// state is stream + (j + 1)·γ), giving exactly the scalar generator's bits.
    /// </summary>
    public void Apply(Span<float> values, ulong stream)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var threshold = Vector512.Create(_threshold);
            var keep = Vector512.Create(_keep);
            var states = Vector512.Create(stream) + Vector512.Create(SplitMix64.Gamma) * Vector512.Create(1UL, 2, 3, 4, 5, 6, 7, 8);
            var step = Vector512.Create(unchecked(8 * SplitMix64.Gamma));
            for (; i <= values.Length - 16; i += 16, states += step)
            {
                var z = states;
                z = (z ^ Vector512.ShiftRightLogical(z, 30)) * Vector512.Create(0xBF58476D1CE4E5B9UL);
                z = (z ^ Vector512.ShiftRightLogical(z, 27)) * Vector512.Create(0x94D049BB133111EBUL);
                // As uint lanes a draw's low half comes first, the order the scalar loop uses its bits in.
                var bits = (z ^ Vector512.ShiftRightLogical(z, 31)).AsUInt32();
                var slice = values.Slice(i, 16);
                var kept = Vector512.LoadUnsafe(ref slice[0]) * keep;
                Vector512.ConditionalSelect(Vector512.LessThan(bits, threshold).AsSingle(), Vector512<float>.Zero, kept).StoreUnsafe(ref slice[0]);
            }
        }
        var random = new SplitMix64(stream + (ulong)(i / 2) * SplitMix64.Gamma);
        for (; i < values.Length; i += 2)
        {
            var bits = random.Next();
            values[i] = (uint)bits < _threshold ? 0f : values[i] * _keep;
            if (i + 1 < values.Length) values[i + 1] = (uint)(bits >> 32) < _threshold ? 0f : values[i + 1] * _keep;
        }
    }
}

/// <summary>Which sequence of a run is being processed (its index among the step's examples): with the seed, it fixes every dropout mask.</summary>
internal readonly record struct DropoutKey(long Step, int Sequence);
