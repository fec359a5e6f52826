using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Kernels.Gpu;
using Dromedary.Model.Llama;
using Dromedary.Tests.Lora;
using Dromedary.Tests.Model;
using Dromedary.Training.Lora;
using Dromedary.Training.Planning;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>
/// The ILGPU training engine (on the simulator here) against the CPU pieces it mirrors — <see cref="LoraTrainingPass"/>,
/// <see cref="GradientNorm"/> and <see cref="CpuAdamW"/> — on the tiny fixture model: rank 4 on all seven
/// projections with random A and B (every path of the backward is live), dropout 0.1 (the masks must be the CPU's),
/// weight decay, clipping that bites, two optimizer steps on two short sequences packed as one block on both sides
/// (≤ 8 tokens each: the simulator runs one OS thread per GPU thread).
/// </summary>
[Collection(GpuSimulatorCollection.Name)]
public sealed class GpuLoraTrainingEngineTests(ITestOutputHelper output)
{
    private const int MaxTokens = 8;
    private const double LearningRate = 1e-2;
    private const double MaxNorm = 0.05;
    private static readonly AdamWOptions Options = new(WeightDecay: 0.01);

    private static TrainingSequence[] Sequences()
    {
        var texts = Fixtures.ReferenceLogprobs("f32");
        return [LoraFixtures.Sequence(texts[1].Tokens[..6], prompt: 2), LoraFixtures.Sequence(texts[2].Tokens[..4], prompt: 1, padding: 2)];
    }

    /// <summary>
    /// Losses and norms agree to 1e-5 relative (fp32 sums in other orders: ~1e-7 measured); the adapter after two
    /// steps to 1e-4 absolute (its values are ~0.1 and each step moves them by up to lr = 1e-2: a wrong mask, a
    /// missing gradient path or a wrong bias correction moves entries by ~1e-3 or more; measured 4e-5 on fp32).
    /// With int8 weights the activations' int8 rounding is discontinuous: adapters that differ by fp32 rounding
    /// after a step can flip quantization levels, and a 1e-6 change of A was measured to move the loss by 1e-4
    /// (1e-6 with fp32). So on int8 the CPU side continues each step from the engine's adapter, and each step is
    /// compared on its own.
    /// </summary>
    [Theory]
    [InlineData(Precision.Fp32)]
    [InlineData(Precision.Int8)]
    public void Two_steps_give_the_cpu_passs_adapter(Precision precision)
    {
        var sequences = Sequences();
        var scale = 1f / LoraFixtures.Counted(sequences);
        var config = LoraFixtures.Config(dropout: 0.1);

        using var cpu = ForwardTests.Load("f32", precision, threads: 1);
        var expected = LoraFixtures.RandomAdapter(cpu.Model.Config, config);
        using var pass = new LoraTrainingPass(cpu.Model, expected, MaxTokens, 5, maxSequences: 2);
        var gradients = new LoraGradients(expected);
        var first = expected.Matrices.Select(m => (A: new float[m.A.Length], B: new float[m.B.Length])).ToArray();
        var second = expected.Matrices.Select(m => (A: new float[m.A.Length], B: new float[m.B.Length])).ToArray();
        using var pool = new WorkerPool(1);
        var adamW = new CpuAdamW(pool, Options);

        using var gpu = ForwardTests.Load("f32", precision, kernels: "ilgpu");
        using var engine = new IlgpuLoraTrainingEngine(gpu.Model, LoraFixtures.RandomAdapter(gpu.Model.Config, config), MaxTokens, 2, 5, Options);

        for (var step = 1; step <= 2; step++)
        {
            if (precision == Precision.Int8)
            {
                for (var i = 0; i < expected.Matrices.Count; i++)
                {
                    engine.Adapter.Matrices[i].A.CopyTo(expected.Matrices[i].A, 0);
                    engine.Adapter.Matrices[i].B.CopyTo(expected.Matrices[i].B, 0);
                }
            }
            var cpuLoss = pass.ForwardBackward(sequences, scale, gradients, step, 0);
            var norm = new GradientNorm();
            foreach (var g in gradients.A.Concat(gradients.B)) norm.Add(g);
            var clip = GradientNorm.ClipCoefficient(norm.Value, MaxNorm);
            for (var i = 0; i < expected.Matrices.Count; i++)
            {
                var m = expected.Matrices[i];
                GradientNorm.Scale(gradients.A[i], clip);
                GradientNorm.Scale(gradients.B[i], clip);
                adamW.Step(m.A, gradients.A[i], first[i].A, second[i].A, LearningRate, step);
                adamW.Step(m.B, gradients.B[i], first[i].B, second[i].B, LearningRate, step);
            }
            gradients.Clear();

            var gpuLoss = engine.ForwardBackward(sequences, scale, step, 0);
            var gpuNorm = engine.GradientNorm();
            engine.Step(LearningRate, (float)GradientNorm.ClipCoefficient(gpuNorm, MaxNorm), step);
            output.WriteLine($"step {step}: loss cpu {cpuLoss} ilgpu {gpuLoss}; norm cpu {norm.Value} ilgpu {gpuNorm}");
            Assert.Equal(cpuLoss, gpuLoss, Math.Abs(cpuLoss) * 1e-5);
            Assert.Equal(norm.Value, gpuNorm, norm.Value * 1e-5);
            Assert.True(clip < 1, "the clipping should bite");
        }

        var error = 0.0;
        for (var i = 0; i < expected.Matrices.Count; i++)
        {
            var (e, a) = (expected.Matrices[i], engine.Adapter.Matrices[i]);
            error = Math.Max(error, e.A.Select((v, j) => Math.Abs(v - a.A[j])).Concat(e.B.Select((v, j) => Math.Abs(v - a.B[j]))).Max());
        }
        output.WriteLine($"largest adapter difference after 2 steps: {error}");
        Assert.True(error <= 1e-4, $"largest adapter difference {error}");
        var moments = engine.ExportMoments();
        for (var i = 0; i < expected.Matrices.Count; i++)
            Assert.Equal(first[i].B.Max(Math.Abs), moments.FirstB[i].Max(Math.Abs), 1e-3 * first[i].B.Max(Math.Abs));
    }

    /// <summary>
    /// Three sequences of different lengths (5, 3 and 6 positions run) as one block of a micro-batch-3 engine give
    /// the loss, gradient norm and gradients of the same sequences run one call each (dropout on: masks keyed by a
    /// sequence's place in the step). The gradients are read as AdamW's first moments after one step with no
    /// clipping, 0.1·g. Only fp32 summation order may differ.
    /// </summary>
    [Fact]
    public void A_block_of_sequences_gives_the_gradients_of_the_sequences_one_at_a_time()
    {
        var texts = Fixtures.ReferenceLogprobs("f32");
        TrainingSequence[] sequences =
        [
            LoraFixtures.Sequence(texts[1].Tokens[..6], prompt: 2), LoraFixtures.Sequence(texts[2].Tokens[..4], prompt: 1, padding: 2),
            LoraFixtures.Sequence(texts[3].Tokens[..7], prompt: 3),
        ];
        var scale = 1f / LoraFixtures.Counted(sequences);
        var config = LoraFixtures.Config(dropout: 0.1);
        using var gpu = ForwardTests.Load("f32", Precision.Fp32, kernels: "ilgpu");
        using var block = new IlgpuLoraTrainingEngine(gpu.Model, LoraFixtures.RandomAdapter(gpu.Model.Config, config), MaxTokens, 3, 5, Options);
        using var single = new IlgpuLoraTrainingEngine(gpu.Model, LoraFixtures.RandomAdapter(gpu.Model.Config, config), MaxTokens, 1, 5, Options);

        var blockLoss = block.ForwardBackward(sequences, scale, 1, 0);
        var singleLoss = 0.0;
        for (var i = 0; i < sequences.Length; i++) singleLoss += single.ForwardBackward([sequences[i]], scale, 1, i);
        var (blockNorm, singleNorm) = (block.GradientNorm(), single.GradientNorm());
        output.WriteLine($"loss: block {blockLoss}, one at a time {singleLoss}; norm {blockNorm} and {singleNorm}");
        Assert.Equal(singleLoss, blockLoss, Math.Abs(singleLoss) * 1e-5);
        Assert.Equal(singleNorm, blockNorm, singleNorm * 1e-5);

        block.Step(LearningRate, 1, 1);
        single.Step(LearningRate, 1, 1);
        var (expected, actual) = (single.ExportMoments(), block.ExportMoments());
        foreach (var (e, a) in expected.FirstA.Zip(actual.FirstA).Concat(expected.FirstB.Zip(actual.FirstB)))
        {
            var bound = 1e-5 * e.Max(Math.Abs);
            Assert.True(bound > 0);
            for (var j = 0; j < e.Length; j++) Assert.True(Math.Abs(e[j] - a[j]) <= bound, $"[{j}]: {e[j]} vs {a[j]}");
        }
    }

    /// <summary>
    /// Loaded with the training plan (micro-batch 3), the set holds exactly the plan's total: its own chunk (a line of
    /// the plan) and the rest taken in one piece; the model's weights, the int8 activation scratch and the engine's buffers fill that piece to the last
    /// byte (nothing the plan counts landed in the chunk the set took for itself), and a training step — forward,
    /// backward, grad norm, AdamW — takes nothing more. fp32 weights plan no scratch.
    /// </summary>
    [Theory]
    [InlineData(Precision.Int8)]
    [InlineData(Precision.Fp32)]
    public void Loaded_with_the_training_plan_the_arena_is_exactly_the_plan(Precision precision)
    {
        var config = Fixtures.TinyModelConfig;
        using var set = (IlgpuKernelSet)KernelRegistry.Create("ilgpu", 1);
        var lora = LoraFixtures.Config(dropout: 0.05);
        var plan = TrainingPlanner.Plan(config, set, new TrainingPlanOptions(precision, 0, lora, 3, MaxTokens));
        var used = set.Arena.UsedBytes;
        using var model = LlamaModel.Load(Fixtures.TinyLlama("f32"), set, new ModelLoadOptions(precision, Memory: plan));
        var sequences = Sequences();
        using (var engine = new IlgpuLoraTrainingEngine(model, LoraFixtures.RandomAdapter(config, lora), MaxTokens, 3, 1, Options))
        {
            engine.ForwardBackward(sequences, 1f / LoraFixtures.Counted(sequences), 1, 0);
            engine.GradientNorm();
            engine.Step(LearningRate, 1, 1);
            Assert.Equal(plan.Total, set.Arena.ReservedBytes);
            Assert.Equal(plan.Total - set.OwnBytes, set.Arena.UsedBytes - used);
            Assert.Equal(0, set.Arena.ReservedPieceFreeBytes);
        }

        // Independent arithmetic for the largest lines: 4 saved inputs and the logits of 24 tokens; and the scratch:
        // 24 tokens padded to a 64-row tile, by one 128-column block per int8 level and fp32 scale.
        Assert.Equal(4 * DeviceArena.RoundUp(3L * MaxTokens * config.HiddenSize * sizeof(float)), plan.Items.Single(i => i.Category == "saved inputs").Bytes);
        Assert.Contains(plan.Items, i => i.Category == "head" && i.Bytes >= 3L * MaxTokens * config.VocabSize * sizeof(float));
        var scratch = plan.Items.Where(i => i.Name.StartsWith("int8 activation scratch", StringComparison.Ordinal)).Sum(i => i.Bytes);
        var blocks = (Math.Max(config.HiddenSize, config.IntermediateSize) + 127) / 128;
        Assert.Equal(precision == Precision.Int8 ? DeviceArena.RoundUp(64L * blocks * 128) + DeviceArena.RoundUp(64L * blocks * sizeof(float)) : 0, scratch);
    }

    /// <summary>A model whose memory was planned for fewer int8 rows than a training block is refused up front.</summary>
    [Fact]
    public void A_model_planned_for_fewer_int8_rows_than_a_block_is_refused()
    {
        using var set = (IlgpuKernelSet)KernelRegistry.Create("ilgpu", 1);
        using var model = LlamaModel.Load(Fixtures.TinyLlama("f32"), set, new ModelLoadOptions(Precision.Int8, Context: 4));
        var adapter = LoraFixtures.RandomAdapter(model.Config, LoraFixtures.Config());
        var error = Assert.Throws<DromedaryException>(() => new IlgpuLoraTrainingEngine(model, adapter, MaxTokens, 1, 1, Options));
        Assert.Contains("int8 matmuls of 4 rows", error.Message);
        Assert.Contains("training plan", error.Message);
    }

    [Fact]
    public void A_model_on_the_cpu_set_is_refused()
    {
        using var cpu = ForwardTests.Load("f32", Precision.Int8, threads: 1);
        var adapter = LoraFixtures.RandomAdapter(cpu.Model.Config, LoraFixtures.Config());
        var error = Assert.Throws<DromedaryException>(() => new IlgpuLoraTrainingEngine(cpu.Model, adapter, MaxTokens, 1, 1, Options));
        Assert.Contains("ilgpu", error.Message);
    }
}
