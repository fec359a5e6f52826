using System.Runtime.Intrinsics;

namespace Dromedary.Kernels.Cpu;

/// <summary>
/// Plain row-major fp32 matrix products for small trainable weights such as LoRA adapters, stored in math layout:
/// A [in, r] and B [r, out], so y += s·(x·A)·B is <see cref="Multiply"/> twice, du = dY·Bᵀ and dx += du·Aᵀ are
/// <see cref="MultiplyTransposedB"/>, and dB = uᵀ·dY, dA = xᵀ·du (summed over tokens) are
/// <see cref="MultiplyTransposedA"/>. Results do not depend on the thread count. One call at a time per instance.
/// </summary>
public sealed unsafe class Fp32Gemm : IDisposable
{
    private readonly StridedPanels _engine;

    public Fp32Gemm(WorkerPool pool) : this(pool, Vector512.IsHardwareAccelerated)
    {
    }

    /// <param name="useVector512">False runs the Vector256 kernels (tests; CPUs where 512-bit code is slower).</param>
    public Fp32Gemm(WorkerPool pool, bool useVector512) => _engine = new StridedPanels(pool, useVector512);

    /// <summary>c[m, n] (+)= a[m, k] · b[k, n].</summary>
    public void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        Check(a.Length, b.Length, c.Length, m, n, k);
        fixed (float* pa = a, pb = b, pc = c) _engine.Run(pa, k, 1, pb, n, 1, m, n, k, pc, accumulate);
    }

    /// <summary>c[m, n] (+)= aᵀ · b with a [k, m] and b [k, n]: weight gradients, k being the tokens.</summary>
    public void MultiplyTransposedA(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        Check(a.Length, b.Length, c.Length, m, n, k);
        fixed (float* pa = a, pb = b, pc = c) _engine.Run(pa, 1, m, pb, n, 1, m, n, k, pc, accumulate);
    }

    /// <summary>c[m, n] (+)= a · bᵀ with a [m, k] and b [n, k].</summary>
    public void MultiplyTransposedB(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        Check(a.Length, b.Length, c.Length, m, n, k);
        fixed (float* pa = a, pb = b, pc = c) _engine.Run(pa, k, 1, pb, 1, k, m, n, k, pc, accumulate);
    }

    private static void Check(int a, int b, int c, int m, int n, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (a < (long)m * k || b < (long)k * n || c < (long)m * n)
            throw new ArgumentException($"a, b and c must hold {m}×{k}, {k}×{n} and {m}×{n} values; they hold {a}, {b} and {c}");
    }

    public void Dispose() => _engine.Dispose();

    /// <summary>B read through strides: element (c, j) at b[c·rowStride + j·colStride], so bᵀ needs no copy.</summary>
    private sealed class StridedPanels(WorkerPool pool, bool useVector512) : PanelGemm(pool, useVector512)
    {
        private float* _b;
        private long _bRowStride;
        private long _bColStride;
        private int _n;

        public void Run(float* a, long aRowStride, long aColStride, float* b, long bRowStride, long bColStride, int m, int n, int k,
            float* c, bool accumulate)
        {
            _b = b;
            (_bRowStride, _bColStride, _n) = (bRowStride, bColStride, n);
            try
            {
                Run(a, aRowStride, aColStride, m, n, k, c, accumulate);
            }
            finally
            {
                _b = null;
            }
        }

        protected override void FillPanel(int panel, int firstK, int k, float* target)
        {
            var first = panel * PanelWidth;
            var width = Math.Min(PanelWidth, _n - first);
            for (var c = firstK; c < firstK + k; c++, target += PanelWidth)
            {
                var source = _b + c * _bRowStride + first * _bColStride;
                if (_bColStride == 1 && width == PanelWidth)
                {
                    Vector256.Load(source).Store(target);
                    Vector256.Load(source + 8).Store(target + 8);
                    continue;
                }
                for (var j = 0; j < width; j++) target[j] = source[j * _bColStride];
                for (var j = width; j < PanelWidth; j++) target[j] = 0f;
            }
        }
    }
}
