using System.Text.Json;
using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Xunit;

namespace Dromedary.Tests.Training;

/// <summary>
/// AdamW and gradient clipping against a naive double-precision loop written here, and against values that
/// torch.optim.AdamW and torch.nn.utils.clip_grad_norm_ produced (tests/fixtures/adamw/make_adamw.py).
/// </summary>
public sealed class TrainingOptimizerTests
{
    private const int Steps = 3;

    private static float[] RandomFloats(Random random, int count, double scale)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return values;
    }

    /// <summary>torch's AdamW step in double, element by element.</summary>
    private static void NaiveStep(double[] p, float[] g, double[] m, double[] v, double lr, int t, AdamWOptions o)
    {
        for (var i = 0; i < p.Length; i++)
        {
            p[i] *= 1 - lr * o.WeightDecay;
            m[i] = o.Beta1 * m[i] + (1 - o.Beta1) * g[i];
            v[i] = o.Beta2 * v[i] + (1 - o.Beta2) * g[i] * g[i];
            var denominator = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(o.Beta2, t)) + o.Epsilon;
            p[i] -= lr / (1 - Math.Pow(o.Beta1, t)) * m[i] / denominator;
        }
    }

    [Theory]
    [InlineData(37, 1, 0.0)]
    [InlineData(37, 1, 0.1)]
    [InlineData(100_003, 4, 0.0)]
    [InlineData(100_003, 4, 0.1)]
    public void AdamW_matches_a_naive_double_loop(int size, int threads, double weightDecay)
    {
        var random = new Random(size + threads);
        var options = new AdamWOptions(WeightDecay: weightDecay);
        using var pool = new WorkerPool(threads);
        var adamW = new CpuAdamW(pool, options);
        var parameters = RandomFloats(random, size, 1);
        float[] m = new float[size], v = new float[size];
        var expected = parameters.Select(x => (double)x).ToArray();
        double[] expectedM = new double[size], expectedV = new double[size];
        for (var t = 1; t <= Steps; t++)
        {
            var gradient = RandomFloats(random, size, 0.1);
            var lr = 1e-2 * t;
            adamW.Step(parameters, gradient, m, v, lr, t);
            NaiveStep(expected, gradient, expectedM, expectedV, lr, t, options);
        }
        for (var i = 0; i < size; i++)
        {
            Assert.True(Math.Abs(parameters[i] - expected[i]) <= 1e-6, $"p[{i}]: expected {expected[i]}, got {parameters[i]}");
            // m can cancel to near 0, so its error is bounded by the size of its terms (~0.1), not by m itself.
            Assert.True(Math.Abs(m[i] - expectedM[i]) <= 1e-7, $"m[{i}]: expected {expectedM[i]}, got {m[i]}");
            Assert.True(Math.Abs(v[i] - expectedV[i]) <= 1e-6 * Math.Abs(expectedV[i]) + 1e-15, $"v[{i}]: expected {expectedV[i]}, got {v[i]}");
        }
    }

    [Fact]
    public void AdamW_gives_the_same_bits_on_any_thread_count()
    {
        const int size = 200_001;
        var random = new Random(5);
        var start = RandomFloats(random, size, 1);
        var gradient = RandomFloats(random, size, 0.1);
        float[] Run(int threads)
        {
            using var pool = new WorkerPool(threads);
            var parameters = (float[])start.Clone();
            new CpuAdamW(pool, new AdamWOptions(WeightDecay: 0.01)).Step(parameters, gradient, new float[size], new float[size], 1e-3, 1);
            return parameters;
        }
        Assert.Equal(Run(1), Run(3));
    }

    public static TheoryData<string> AdamWCases() => [.. Reference.Value.Adamw.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(AdamWCases))]
    public void AdamW_matches_torch(string name)
    {
        var reference = Reference.Value.Adamw.Single(c => c.Name == name);
        using var pool = new WorkerPool(1);
        var adamW = new CpuAdamW(pool, new AdamWOptions(WeightDecay: reference.WeightDecay));
        var parameters = (float[])reference.Start.Clone();
        float[] m = new float[parameters.Length], v = new float[parameters.Length];
        for (var t = 0; t < reference.Steps.Length; t++)
        {
            var step = reference.Steps[t];
            adamW.Step(parameters, step.Grad, m, v, reference.Lr, t + 1);
            AssertClose(step.Param, parameters, 1e-6, $"{name} step {t + 1} param");
            AssertClose(step.M, m, 1e-6, $"{name} step {t + 1} m");
            AssertClose(step.V, v, 1e-6, $"{name} step {t + 1} v");
        }
    }

    [Fact]
    public void Sum_of_squares_is_exact_in_double()
    {
        var values = RandomFloats(new Random(9), 1001, 3);
        var expected = values.Sum(x => (double)x * x);
        Assert.Equal(expected, GradientNorm.SumOfSquares(values), 1e-12 * expected);
    }

    public static TheoryData<string> ClipCases() => [.. Reference.Value.Clip.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(ClipCases))]
    public void Clipping_matches_torch_clip_grad_norm(string name)
    {
        var reference = Reference.Value.Clip.Single(c => c.Name == name);
        var gradients = reference.Grads.Select(g => (float[])g.Clone()).ToArray();
        var norm = new GradientNorm();
        foreach (var gradient in gradients) norm.Add(gradient);
        Assert.Equal(reference.Norm, norm.Value, 1e-6 * reference.Norm);
        var coefficient = GradientNorm.ClipCoefficient(norm.Value, reference.MaxNorm);
        foreach (var gradient in gradients) GradientNorm.Scale(gradient, coefficient);
        for (var i = 0; i < gradients.Length; i++) AssertClose(reference.Clipped[i], gradients[i], 1e-6, $"{name} tensor {i}");
    }

    [Fact]
    public void Clip_coefficient_is_one_under_the_maximum_and_max_over_norm_above()
    {
        Assert.Equal(1, GradientNorm.ClipCoefficient(0, 1));
        Assert.Equal(1, GradientNorm.ClipCoefficient(0.5, 1));
        Assert.Equal(1 / (4 + 1e-6), GradientNorm.ClipCoefficient(4, 1));
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = expected.Max(x => Math.Abs(x));
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * scale, $"{what}[{i}]: torch {expected[i]}, ours {actual[i]}");
    }

    private sealed record AdamWStep(float[] Grad, float[] Param, float[] M, float[] V);

    private sealed record AdamWCase(string Name, double Lr, double WeightDecay, float[] Start, AdamWStep[] Steps);

    private sealed record ClipCase(string Name, double MaxNorm, float[][] Grads, double Norm, float[][] Clipped);

    private sealed record Fixture(AdamWCase[] Adamw, ClipCase[] Clip);

    private static readonly Lazy<Fixture> Reference = new(() => JsonSerializer.Deserialize<Fixture>(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "adamw", "adamw.json")),
        new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!);
}
