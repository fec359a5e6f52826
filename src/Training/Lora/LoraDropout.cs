using Dromedary.Kernels;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// Dropout on a LoRA branch's input, as torch.nn.Dropout: each value is zeroed with probability p and the rest
/// scaled by 1/(1 − p). The mask is not drawn from a running generator but hashed from (seed, step, micro-batch,
/// sequence, layer, projection), so the backward pass's recomputation sees the forward's mask and a resumed run
/// draws exactly the masks an uninterrupted one would. Applying it to a gradient is its own backward.
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
        h = Mix(h, key.MicroBatch);
        h = Mix(h, key.Sequence);
        return Mix(h, layer * LoraTargets.All.Length + (int)target);
    }

    private static ulong Mix(ulong h, long part) => new SplitMix64(h ^ (ulong)part).Next();

    /// <summary>Multiplies values (row-major, the mask's own layout) by the stream's mask; 32 random bits a value.</summary>
    public void Apply(Span<float> values, ulong stream)
    {
        var random = new SplitMix64(stream);
        for (var i = 0; i < values.Length; i += 2)
        {
            var bits = random.Next();
            values[i] = (uint)bits < _threshold ? 0f : values[i] * _keep;
            if (i + 1 < values.Length) values[i + 1] = (uint)(bits >> 32) < _threshold ? 0f : values[i + 1] * _keep;
        }
    }
}

/// <summary>Which sequence of a run is being processed: with the seed, it fixes every dropout mask.</summary>
internal readonly record struct DropoutKey(long Step, int MicroBatch, int Sequence);
