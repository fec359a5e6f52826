using Dromedary.Kernels.Cpu;
using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Tests.Model;
using Dromedary.Training.Lora;
using Xunit;

namespace Dromedary.Tests.Lora;

/// <summary>
/// The CPU LoRA training pass on the tiny fixture model (3 layers, hidden 96, vocab 520), rank 4 on all seven
/// projections with random non-zero A and B, so every path of the backward is exercised. One thread: at these
/// sizes the pool's hand-offs cost more than they save.
/// </summary>
public sealed class LoraTrainingPassTests(ITestOutputHelper output)
{
    private const int MaxTokens = 32;

    private static ForwardTests.TestModel Load(Precision precision) => ForwardTests.Load("f32", precision, threads: 1);

    private static float Scale(TrainingSequence[] sequences) => 1f / LoraFixtures.Counted(sequences);

    /// <summary>Every A and B gradient equal to the bit.</summary>
    private static void AssertSame(LoraGradients expected, LoraGradients actual)
    {
        Assert.Equal(expected.A, actual.A);
        Assert.Equal(expected.B, actual.B);
    }

    /// <summary>
    /// Central differences of the pass's own loss for the largest-gradient entry of A and of B in every third
    /// projection (all seven kinds, all layers). The step is 1e-2: the fp32 loss's rounding divided by 2h and the
    /// truncation error (~h²) both stay near 1e-4 of these gradients (measured ≤ 5e-4 on fp32).
    /// </summary>
    private void AssertGradientsMatchFiniteDifferences(LoraTrainingPass pass, TrainingSequence[] sequences, double tolerance)
    {
        const float h = 1e-2f;
        var adapter = pass.Adapter;
        var scale = Scale(sequences);
        var gradients = new LoraGradients(adapter);
        pass.ForwardBackward(sequences, scale, gradients, 3, 1);
        var scratch = new LoraGradients(adapter);
        for (var i = 0; i < adapter.Matrices.Count; i += 3)
        {
            var m = adapter.Matrices[i];
            foreach (var (values, gradient, name) in new[] { (m.A, gradients.A[i], m.TensorName('A')), (m.B, gradients.B[i], m.TensorName('B')) })
            {
                var j = Array.IndexOf(gradient, gradient.MaxBy(Math.Abs));
                var saved = values[j];
                values[j] = saved + h;
                var up = pass.ForwardBackward(sequences, scale, scratch, 3, 1);
                values[j] = saved - h;
                var down = pass.ForwardBackward(sequences, scale, scratch, 3, 1);
                values[j] = saved;
                var numeric = (up - down) / ((double)(saved + h) - (saved - h));
                output.WriteLine($"{name}[{j}]: finite differences {numeric:E5}, backward {gradient[j]:E5}");
                Assert.True(gradient[j] != 0 && Math.Abs(numeric - gradient[j]) <= tolerance * Math.Abs(gradient[j]),
                    $"{name}[{j}]: finite differences {numeric}, backward {gradient[j]}");
            }
        }
    }

    [Fact]
    public void Lora_gradients_match_finite_differences()
    {
        using var loaded = Load(Precision.Fp32);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config());
        using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1);
        AssertGradientsMatchFiniteDifferences(pass, LoraFixtures.Sequences(), 1e-2);
    }

    [Fact]
    public void Loss_equals_the_merged_models_inference_loss()
    {
        using var loaded = Load(Precision.Fp32);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config());
        var sequences = LoraFixtures.Sequences();
        using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1);
        var loss = pass.ForwardBackward(sequences, Scale(sequences), new LoraGradients(adapter), 0, 0);

        // The merged weights W + s·B·A differ from the pass's separate branch only by fp32 rounding (measured 1e-7).
        using var merged = MergedCopy(loaded, adapter);
        var expected = MeanLoss(merged, sequences);
        output.WriteLine($"training pass {loss}, merged model {expected}, base model {MeanLoss(loaded.Model, sequences)}");
        Assert.Equal(expected, loss, 1e-5);
        Assert.True(Math.Abs(MeanLoss(loaded.Model, sequences) - expected) > 0.02, "the adapter should change the loss");
    }

    /// <summary>The mean token loss from the inference path's log-probabilities (Scoring, through LlamaSession).</summary>
    private static double MeanLoss(LlamaModel model, TrainingSequence[] sequences)
    {
        var sum = 0.0;
        foreach (var sequence in sequences)
        {
            var logProbs = Scoring.TokenLogProbs(model, sequence.InputIds);
            for (var t = 1; t < sequence.Labels.Length; t++)
                if (sequence.Labels[t] != TrainingSequence.Ignored) sum -= logProbs[t - 1];
        }
        return sum / LoraFixtures.Counted(sequences);
    }

    /// <summary>Every A and B gradient within <paramref name="relative"/> of the matrix's largest expected entry.</summary>
    internal static void AssertClose(LoraGradients expected, LoraGradients actual, double relative)
    {
        static void Close(float[] e, float[] a, double relative)
        {
            var bound = relative * e.Max(Math.Abs);
            for (var j = 0; j < e.Length; j++) Assert.True(Math.Abs(e[j] - a[j]) <= bound, $"[{j}]: {e[j]} vs {a[j]}");
        }
        for (var i = 0; i < expected.A.Count; i++)
        {
            Close(expected.A[i], actual.A[i], relative);
            Close(expected.B[i], actual.B[i], relative);
        }
    }

    /// <summary>
    /// Three sequences of different lengths (13, 10 and 8 positions run) packed into one block of a micro-batch-3
    /// pass give the loss and gradients of the same sequences run one call each, dropout on (a mask is keyed by the
    /// sequence's place in the step, not by the block). Only fp32 summation order may differ: an adapter gradient
    /// sums over the block's 31 tokens at once instead of sequence by sequence.
    /// </summary>
    [Fact]
    public void A_block_of_sequences_gives_the_loss_and_gradients_of_the_sequences_one_at_a_time()
    {
        using var loaded = Load(Precision.Fp32);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config(dropout: 0.1));
        var sequences = LoraFixtures.Sequences();
        var scale = Scale(sequences);
        using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1, maxSequences: 3);
        var block = new LoraGradients(adapter);
        var blockLoss = pass.ForwardBackward(sequences, scale, block, 2, 4);
        var single = new LoraGradients(adapter);
        var singleLoss = 0.0;
        for (var i = 0; i < sequences.Length; i++) singleLoss += pass.ForwardBackward([sequences[i]], scale, single, 2, 4 + i);

        output.WriteLine($"loss: block {blockLoss}, one at a time {singleLoss}");
        Assert.Equal(singleLoss, blockLoss, Math.Abs(singleLoss) * 1e-5);
        AssertClose(single, block, 1e-5);
        // The comparison can fail: other dropout keys (every sequence one place on) move the loss far more.
        var wrongKeys = new LoraGradients(adapter);
        Assert.NotEqual(blockLoss, pass.ForwardBackward(sequences, scale, wrongKeys, 2, 5), Math.Abs(singleLoss) * 1e-5);
    }

    /// <summary>
    /// Micro-batches of 2 + 1 sequences accumulate to the gradients of the 3-sequence micro-batch. They were equal
    /// to the bit when every sequence ran alone; as blocks the adapter gradients sum their tokens in other groups, so
    /// they agree to fp32 summation order.
    /// </summary>
    [Fact]
    public void Micro_batches_accumulate_to_the_gradients_of_the_whole_batch()
    {
        using var loaded = Load(Precision.Fp32);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config(dropout: 0.1));
        var sequences = LoraFixtures.Sequences();
        var scale = Scale(sequences);
        using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1, maxSequences: 3);
        var whole = new LoraGradients(adapter);
        var wholeLoss = pass.ForwardBackward(sequences, scale, whole, 0, 0);
        var split = new LoraGradients(adapter);
        var splitLoss = pass.ForwardBackward(sequences[..2], scale, split, 0, 0) + pass.ForwardBackward(sequences[2..], scale, split, 0, 2);

        Assert.Equal(wholeLoss, splitLoss, Math.Abs(wholeLoss) * 1e-5);
        AssertClose(whole, split, 1e-5);
    }

    /// <summary>
    /// The head's logits in chunks of 5 rows (seven chunks for the block's 31 positions) give the one-chunk loss and
    /// gradients, to fp32 order: the head's GEMM groups 31 rows otherwise than 5 (measured 4e-10 relative on the loss).
    /// </summary>
    [Fact]
    public void Head_chunks_change_nothing()
    {
        using var loaded = Load(Precision.Fp32);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config());
        var sequences = LoraFixtures.Sequences();
        var scale = Scale(sequences);
        using var whole = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1);
        using var chunked = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1, 1, headChunk: 5);
        var (expected, actual) = (new LoraGradients(adapter), new LoraGradients(adapter));
        var loss = whole.ForwardBackward(sequences, scale, expected, 0, 0);
        Assert.Equal(loss, chunked.ForwardBackward(sequences, scale, actual, 0, 0), loss * 1e-7);
        for (var i = 0; i < adapter.Matrices.Count; i++)
        {
            Assert.Equal(expected.A[i], actual.A[i], (a, b) => Math.Abs(a - b) <= 1e-6f * Math.Max(1, Math.Abs(a)));
            Assert.Equal(expected.B[i], actual.B[i], (a, b) => Math.Abs(a - b) <= 1e-6f * Math.Max(1, Math.Abs(a)));
        }
        Assert.Contains(expected.A, g => g.Any(v => v != 0));
    }

    [Fact]
    public void Gradients_do_not_depend_on_the_thread_count()
    {
        var sequences = LoraFixtures.Sequences();
        LoraGradients Gradients(int threads)
        {
            using var loaded = ForwardTests.Load("f32", Precision.Int8, threads: threads);
            var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config(dropout: 0.1));
            using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1);
            var gradients = new LoraGradients(adapter);
            pass.ForwardBackward(sequences, Scale(sequences), gradients, 0, 0);
            return gradients;
        }

        var one = Gradients(1);
        var two = Gradients(2);
        AssertSame(one, two);
    }

    [Fact]
    public void Right_padding_and_masked_tails_change_nothing()
    {
        using var loaded = Load(Precision.Fp32);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config());
        var tokens = Fixtures.ReferenceLogprobs("f32")[1].Tokens[..12];
        using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1);
        var plain = new LoraGradients(adapter);
        var padded = new LoraGradients(adapter);
        var plainLoss = pass.ForwardBackward([LoraFixtures.Sequence(tokens, prompt: 4)], 0.1f, plain, 0, 0);
        var paddedLoss = pass.ForwardBackward([LoraFixtures.Sequence(tokens, prompt: 4, padding: 9)], 0.1f, padded, 0, 0);
        Assert.Equal(plainLoss, paddedLoss);
        AssertSame(plain, padded);

        // A sequence with no counted target contributes nothing.
        var none = new LoraGradients(adapter);
        Assert.Equal(0, pass.ForwardBackward([LoraFixtures.Sequence(tokens, prompt: 12)], 0.1f, none, 0, 0));
        Assert.All(none.A, g => Assert.All(g, v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void Dropout_masks_are_fixed_by_seed_step_and_sequence_and_their_gradients_are_exact()
    {
        using var loaded = Load(Precision.Fp32);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config(dropout: 0.3));
        var sequences = LoraFixtures.Sequences();
        var scale = Scale(sequences);
        using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 11);
        using var resumed = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 11);
        using var reseeded = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 12);
        var first = new LoraGradients(adapter);
        var again = new LoraGradients(adapter);
        var loss = pass.ForwardBackward(sequences, scale, first, 3, 1);
        Assert.Equal(loss, resumed.ForwardBackward(sequences, scale, again, 3, 1));
        AssertSame(first, again);
        var scratch = new LoraGradients(adapter);
        Assert.NotEqual(loss, pass.ForwardBackward(sequences, scale, scratch, 4, 1));
        Assert.NotEqual(loss, pass.ForwardBackward(sequences, scale, scratch, 3, 0));
        Assert.NotEqual(loss, reseeded.ForwardBackward(sequences, scale, scratch, 3, 1));

        // With the masks fixed the loss is a smooth function of A and B, so the forward's masks and the backward's
        // recomputed ones must agree for the gradients to match.
        AssertGradientsMatchFiniteDifferences(pass, sequences, 1e-2);
    }

    /// <summary>
    /// A few Adam steps from PEFT's initialisation memorise three short answers: every counted target becomes the
    /// merged model's top prediction. The loss cannot reach 0 here: the fixture's head is frozen and random (rows
    /// of norm ~0.8) behind an RMSNorm (outputs of norm ~10), so even a perfectly aligned hidden state gives its
    /// target only e^7.7 / (e^7.7 + 519·e^(0.78²/2)) ≈ 0.76, a loss near 0.28; training plateaus at 0.29 for
    /// every rank tried (4 to 16).
    /// </summary>
    [Fact]
    public void Adam_steps_overfit_three_short_sequences()
    {
        const int steps = 60;
        const float learningRate = 2e-2f;
        using var loaded = Load(Precision.Fp32);
        var adapter = LoraAdapter.Create(LoraFixtures.Config(), loaded.Model.Config, 5);
        var sequences = LoraFixtures.Sequences();
        using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1);
        var gradients = new LoraGradients(adapter);
        var parameters = adapter.Matrices.SelectMany(m => new[] { m.A, m.B }).ToArray();
        var grads = gradients.A.Zip(gradients.B).SelectMany(p => new[] { p.First, p.Second }).ToArray();
        var moments = parameters.Select(p => (M: new float[p.Length], V: new float[p.Length])).ToArray();
        var losses = new List<double>();
        for (var step = 1; step <= steps; step++)
        {
            gradients.Clear();
            losses.Add(pass.ForwardBackward(sequences, Scale(sequences), gradients, step, 0));
            for (var p = 0; p < parameters.Length; p++)
            {
                for (var k = 0; k < parameters[p].Length; k++)
                {
                    var g = grads[p][k];
                    var m = moments[p].M[k] = 0.9f * moments[p].M[k] + 0.1f * g;
                    var v = moments[p].V[k] = 0.999f * moments[p].V[k] + 0.001f * g * g;
                    parameters[p][k] -= learningRate * m / (1 - MathF.Pow(0.9f, step)) / (MathF.Sqrt(v / (1 - MathF.Pow(0.999f, step))) + 1e-8f);
                }
            }
        }
        output.WriteLine(string.Join(", ", losses.Select(l => l.ToString("F3"))));
        Assert.True(losses[0] > 6 && losses[^1] < 0.35, $"loss from {losses[0]} to {losses[^1]}");

        using var merged = MergedCopy(loaded, adapter);
        var vocab = merged.Config.VocabSize;
        foreach (var sequence in sequences)
        {
            var rows = new float[sequence.InputIds.Length * vocab];
            using (var session = new LlamaSession(merged, sequence.InputIds.Length)) session.Forward(sequence.InputIds, LogitsRows.All, rows);
            for (var t = 1; t < sequence.Labels.Length; t++)
                if (sequence.Labels[t] != TrainingSequence.Ignored)
                    Assert.Equal(sequence.Labels[t], CpuLogSoftmax.Argmax(rows.AsSpan((t - 1) * vocab, vocab)));
        }
    }

    private static LlamaModel MergedCopy(ForwardTests.TestModel loaded, LoraAdapter adapter) =>
        LlamaModel.Load(Fixtures.TinyLlama("f32"), loaded.Kernels, new ModelLoadOptions(Precision.Fp32, 0, adapter));

    [Theory]
    [InlineData(Precision.Int8, 0.1)]
    [InlineData(Precision.Fp32, 0.0)]
    public void A_step_allocates_nothing_once_warm(Precision precision, double dropout)
    {
        using var loaded = Load(precision);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config(dropout));
        var sequences = LoraFixtures.Sequences();
        var scale = Scale(sequences);
        using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1);
        var gradients = new LoraGradients(adapter);
        pass.ForwardBackward(sequences, scale, gradients, 0, 0);
        var before = GC.GetAllocatedBytesForCurrentThread();
        pass.ForwardBackward(sequences, scale, gradients, 1, 0);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Bad_sequences_are_refused()
    {
        using var loaded = Load(Precision.Fp32);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config());
        using var pass = new LoraTrainingPass(loaded.Model, adapter, 8, 1);
        var gradients = new LoraGradients(adapter);
        int[] ids = [1, 5, 6, 7];
        Assert.Throws<DromedaryException>(() => pass.ForwardBackward([new TrainingSequence(ids, [1, 5, 6])], 1, gradients, 0, 0));
        Assert.Throws<DromedaryException>(() => pass.ForwardBackward([new TrainingSequence(new int[9], new int[9])], 1, gradients, 0, 0));
        Assert.Throws<DromedaryException>(() => pass.ForwardBackward([new TrainingSequence(ids, [1, 5, 6, 520])], 1, gradients, 0, 0));
        Assert.Throws<DromedaryException>(() => pass.ForwardBackward([new TrainingSequence([1, 520], [1, 2])], 1, gradients, 0, 0));
        var other = LoraAdapter.Create(LoraFixtures.Config() with { Rank = 2 }, loaded.Model.Config, 1);
        Assert.Throws<ArgumentException>(() => pass.ForwardBackward([], 1, new LoraGradients(other), 0, 0));
    }

    /// <summary>
    /// The int8 forward is piecewise constant in its activations (they are rounded to int8 at every matmul), so a
    /// step along one coordinate mostly measures rounding flips. Along the whole gradient, with a step of 0.03 in
    /// parameter norm, flips average out: the directional derivative of the int8 loss matched |g| to 1.7–2.5% on three
    /// seeds (fp32: 0.2%, the step's truncation error). And per matrix, the straight-through gradient must point
    /// where the exact model's does (measured cosine ≥ 0.995).
    /// </summary>
    [Fact]
    public void Int8_base_gradients_match_finite_differences_of_the_int8_forward()
    {
        const double step = 0.03, tolerance = 0.06, minimumCosine = 0.99;
        var sequences = LoraFixtures.Sequences();
        var scale = Scale(sequences);
        using var exactModel = Load(Precision.Fp32);
        var exactAdapter = LoraFixtures.RandomAdapter(exactModel.Model.Config, LoraFixtures.Config());
        var exact = new LoraGradients(exactAdapter);
        using (var exactPass = new LoraTrainingPass(exactModel.Model, exactAdapter, MaxTokens, 1))
            exactPass.ForwardBackward(sequences, scale, exact, 0, 0);

        using var loaded = Load(Precision.Int8);
        var adapter = LoraFixtures.RandomAdapter(loaded.Model.Config, LoraFixtures.Config());
        using var pass = new LoraTrainingPass(loaded.Model, adapter, MaxTokens, 1);
        var gradients = new LoraGradients(adapter);
        pass.ForwardBackward(sequences, scale, gradients, 0, 0);
        for (var i = 0; i < adapter.Matrices.Count; i++)
        {
            Assert.True(Cosine(gradients.A[i], exact.A[i]) > minimumCosine, $"{adapter.Matrices[i].TensorName('A')}: cosine {Cosine(gradients.A[i], exact.A[i])}");
            Assert.True(Cosine(gradients.B[i], exact.B[i]) > minimumCosine, $"{adapter.Matrices[i].TensorName('B')}: cosine {Cosine(gradients.B[i], exact.B[i])}");
        }

        var norm = Math.Sqrt(gradients.A.Concat(gradients.B).Sum(g => Dot(g, g)));
        var saved = adapter.Matrices.Select(m => (A: m.A.ToArray(), B: m.B.ToArray())).ToArray();
        double LossAt(double distance)
        {
            for (var i = 0; i < saved.Length; i++)
            {
                Move(saved[i].A, gradients.A[i], adapter.Matrices[i].A);
                Move(saved[i].B, gradients.B[i], adapter.Matrices[i].B);
            }
            return pass.ForwardBackward(sequences, scale, new LoraGradients(adapter), 0, 0);

            void Move(float[] from, float[] direction, float[] to)
            {
                for (var k = 0; k < to.Length; k++) to[k] = (float)(from[k] + distance * direction[k] / norm);
            }
        }
        var numeric = (LossAt(step) - LossAt(-step)) / (2 * step);
        output.WriteLine($"directional derivative {numeric}, |g| {norm}");
        Assert.True(Math.Abs(numeric - norm) <= tolerance * norm, $"directional derivative {numeric}, |g| {norm}");
    }

    private static double Dot(float[] a, float[] b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return sum;
    }

    private static double Cosine(float[] a, float[] b) => Dot(a, b) / Math.Sqrt(Dot(a, a) * Dot(b, b));
}
