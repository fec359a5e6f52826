using System.Numerics;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// AdamW's settings besides the learning rate. The defaults are the method's (METHOD.md §4.4): betas 0.9/0.999,
/// eps 1e-8 and weight decay 0, which accelerate's DummyOptim leaves DeepSpeed's fused AdamW with.
/// </summary>
public sealed record AdamWOptions(double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double WeightDecay = 0)
{
    /// <summary>
    /// One update's scalars rounded to fp32 (bias corrections worked out in double), after checking the tensors'
    /// lengths, the learning rate and the step.
    /// </summary>
    internal AdamWScalars Scalars(long n, long gradient, long m, long v, double learningRate, int step, float gradientScale)
    {
        if (gradient != n || m != n || v != n)
            throw new ArgumentException($"parameters ({n}), gradient ({gradient}), m ({m}) and v ({v}) must have equal length");
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        if (!(learningRate >= 0) || double.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be finite and ≥ 0");
        return new AdamWScalars((float)Beta1, (float)Beta2, (float)Epsilon, (float)(1 - Beta1), (float)(1 - Beta2),
            (float)(1 - learningRate * WeightDecay), (float)(learningRate / (1 - Math.Pow(Beta1, step))),
            (float)Math.Sqrt(1 - Math.Pow(Beta2, step)), gradientScale, n);
    }

    internal void Validate()
    {
        if (!(Beta1 is >= 0 and < 1) || !(Beta2 is >= 0 and < 1))
            throw new ArgumentOutOfRangeException("options", "betas must lie in [0, 1)");
        if (!(Epsilon >= 0) || !(WeightDecay >= 0))
            throw new ArgumentOutOfRangeException("options", "eps and weight decay must be ≥ 0");
    }
}

/// <summary>One update's scalars, as the AdamW kernels (CPU and GPU) take them.</summary>
public readonly record struct AdamWScalars(float Beta1, float Beta2, float Epsilon, float OneMinusBeta1, float OneMinusBeta2, float Decay,
    float StepSize, float Bias2Sqrt, float GradientScale, long Count);

/// <summary>
/// One fused AdamW update per tensor, in the order torch.optim.AdamW applies it: decoupled decay
/// p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
/// p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps). The scalars are worked out in double, the tensors in fp32.
/// Large tensors are cut into chunks over the worker pool; each element's arithmetic is the same whatever the
/// chunking, so results do not depend on the thread count. One call at a time per instance.
/// </summary>
public sealed unsafe class CpuAdamW
{
    /// <summary>Elements per chunk: 4 arrays × 64 KB, enough streaming to repay handing a chunk to a thread.</summary>
    private const int Grain = 16384;

    private readonly WorkerPool _pool;
    private readonly Action<int, int> _body;

    // The call in progress: spans cannot live in fields, so Step pins them and parks their pointers here.
    private float* _parameters;
    private float* _gradient;
    private float* _m;
    private float* _v;
    private AdamWScalars _scalars;

    public CpuAdamW(WorkerPool pool, AdamWOptions options)
    {
        options.Validate();
        _pool = pool;
        Options = options;
        _body = Update;
    }

    public AdamWOptions Options { get; }

    /// <summary>Applies update number <paramref name="step"/> (1 for the first) to one tensor and its moments.</summary>
    /// <param name="m">First moment, zero before the first step; updated in place. Likewise <paramref name="v"/>.</param>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradient, Span<float> m, Span<float> v, double learningRate, int step)
    {
        var n = parameters.Length;
        _scalars = Options.Scalars(n, gradient.Length, m.Length, v.Length, learningRate, step, 1f);
        fixed (float* p = parameters, g = gradient, mp = m, vp = v)
        {
            _parameters = p;
            _gradient = g;
            _m = mp;
            _v = vp;
            _pool.For(n, Grain, _body);
            _parameters = _m = _v = null;
            _gradient = null;
        }
    }

    private void Update(int start, int end)
    {
        var s = _scalars;
        float beta1 = s.Beta1, beta2 = s.Beta2, eps = s.Epsilon, oneMinusBeta1 = s.OneMinusBeta1, oneMinusBeta2 = s.OneMinusBeta2;
        float decay = s.Decay, stepSize = s.StepSize, bias2Sqrt = s.Bias2Sqrt;
        var width = Vector<float>.Count;
        var i = start;
        for (; i <= end - width; i += width)
        {
            var g = Vector.Load(_gradient + i);
            var m = Vector.Load(_m + i) * beta1 + g * oneMinusBeta1;
            var v = Vector.Load(_v + i) * beta2 + g * g * oneMinusBeta2;
            var denominator = Vector.SquareRoot(v) / bias2Sqrt + new Vector<float>(eps);
            var p = Vector.Load(_parameters + i) * decay - m / denominator * stepSize;
            m.Store(_m + i);
            v.Store(_v + i);
            p.Store(_parameters + i);
        }
        for (; i < end; i++)
        {
            var g = _gradient[i];
            var m = _m[i] * beta1 + g * oneMinusBeta1;
            var v = _v[i] * beta2 + g * g * oneMinusBeta2;
            _m[i] = m;
            _v[i] = v;
            _parameters[i] = _parameters[i] * decay - m / (MathF.Sqrt(v) / bias2Sqrt + eps) * stepSize;
        }
    }
}
