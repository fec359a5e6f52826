using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Training.Pretraining;
using Xunit;

namespace Dromedary.Tests.Training.Pretraining;

/// <summary>Every weight's gradient from the full-parameter pass against central finite differences of its own loss.</summary>
public class PretrainingGradientTests
{
    private static LlamaConfig Tiny(bool tied) => new()
    {
        HiddenSize = 16, IntermediateSize = 24, Heads = 4, KvHeads = 2, Layers = 2, VocabSize = 40, MaxPositions = 16,
        RmsNormEps = 1e-5, TieWordEmbeddings = tied,
    };

    private static readonly int[] Window = [1, 7, 19, 7, 33, 2, 1, 25, 7, 11];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_weight_gradient_matches_central_differences(bool tied)
    {
        var config = Tiny(tied);
        // std 0.3 rather than 0.02: a 16-wide model at init is so close to uniform that most gradients would be tiny.
        var weights = ModelTensors.Random(config, seed: 5, std: 0.3);
        var gradients = ModelTensors.Zeros(config);
        var scratch = ModelTensors.Zeros(config);
        using var pool = new WorkerPool(2);
        using var pass = new PretrainingPass(config, pool, Window.Length - 1);
        var scale = 1f / (Window.Length - 1);
        pass.ForwardBackward(weights, Window, scale, gradients);

        // Central differences in fp32 weights with h = 1e-2: the truncation error is O(h²) ≈ 1e-4 relative for this
        // smooth loss, and the fp32 rounding of the loss (~1e-6) contributes ~1e-4 absolute after dividing by 2h.
        const float h = 1e-2f;
        var random = new SplitMix64(3);
        var checkedCount = 0;
        foreach (var spec in weights.Specs)
        {
            var w = weights[spec.Name];
            var g = gradients[spec.Name];
            Assert.Contains(g, value => value != 0);
            var largest = Array.IndexOf(g, g.MaxBy(Math.Abs));
            foreach (var i in new[] { largest, random.NextBelow(w.Length), random.NextBelow(w.Length) })
            {
                var original = w[i];
                w[i] = original + h;
                var plus = pass.ForwardBackward(weights, Window, scale, scratch);
                w[i] = original - h;
                var minus = pass.ForwardBackward(weights, Window, scale, scratch);
                w[i] = original;
                var numeric = (plus - minus) / (2 * h);
                Assert.True(Math.Abs(numeric - g[i]) <= 5e-4 + 2e-2 * Math.Abs(numeric),
                    $"{spec.Name}[{i}]: backward {g[i]}, finite difference {numeric}");
                checkedCount++;
            }
        }
        Assert.Equal(weights.Specs.Count * 3, checkedCount);
    }

    [Fact]
    public void Loss_falls_when_one_batch_is_repeated()
    {
        var config = Tiny(tied: false);
        var weights = ModelTensors.Random(config, seed: 9);
        var (gradients, m, v) = (ModelTensors.Zeros(config), ModelTensors.Zeros(config), ModelTensors.Zeros(config));
        using var pool = new WorkerPool(2);
        using var pass = new PretrainingPass(config, pool, Window.Length - 1);
        var adam = new CpuAdamW(pool, new AdamWOptions());
        var losses = new List<double>();
        for (var step = 1; step <= 40; step++)
        {
            gradients.Clear();
            losses.Add(pass.ForwardBackward(weights, Window, 1f / (Window.Length - 1), gradients));
            foreach (var ((w, g), (first, second)) in weights.All.Zip(gradients.All).Zip(m.All.Zip(v.All)))
                adam.Step(w, g, first, second, 1e-2, step);
        }
        Assert.InRange(losses[0], Math.Log(config.VocabSize) - 0.5, Math.Log(config.VocabSize) + 0.5);
        Assert.True(losses[^1] < 0.25 * losses[0], $"loss went from {losses[0]} to {losses[^1]}");
    }

    [Fact]
    public void Embedding_backward_adds_each_row_gradient_to_its_token_row()
    {
        float[] dOutput = [1, 2, 3, 4, 5, 6];
        var table = new float[4 * 2];
        table[7] = 10;
        CpuEmbedding.Backward(dOutput, 2, [3, 0, 3], table);
        Assert.Equal([3, 4, 0, 0, 0, 0, 1 + 5, 10 + 2 + 6], table);
    }
}
