namespace Dromedary.Kernels;

/// <summary>
/// A small seeded generator whose sequence we own: a request's samples depend only on its seed, on every .NET
/// version and machine (System.Random's seeded sequence is an implementation detail).
/// </summary>
public struct SplitMix64(ulong seed)
{
    /// <summary>The state's increment per draw: draw j (from 0) mixes seed + (j + 1)·Gamma.</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += Gamma;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, <paramref name="bound"/>): the high half of a 64×64-bit product (bias below 2⁻³²).</summary>
    public int NextBelow(int bound) => (int)Math.BigMul(Next(), (ulong)bound, out _);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
