using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Planning;
using Dromedary.Tests.Lora;
using Dromedary.Tests.Model;
using Dromedary.Training.Lora;
using Dromedary.Training.Planning;
using Xunit;

namespace Dromedary.Tests.Planning;

public sealed class TrainingPlannerTests(ITestOutputHelper output)
{
    private static readonly LoraConfig Qkvo = new() { Rank = 16 };

    private static readonly string[] ActivationCategories = ["saved inputs", "layer", "head", "workspace"];

    private static long Category(MemoryPlan plan, string category) => plan.ByCategory().Single(c => c.Category == category).Bytes;

    /// <summary>
    /// The method's 65B run: int8 base, r = 16 on q, k, v, o, micro-batch 16 × 512 tokens, on the GPU set's layout.
    /// It must fit an H200 taken as 141e9 bytes and also the 139 GiB the card reports as usable.
    /// </summary>
    [Fact]
    public void Llama_65b_lora_training_with_micro_batch_16_fits_one_141_gb_gpu()
    {
        using var kernels = KernelRegistry.Create("ilgpu", 1);
        var config = ModelPresets.Resolve("llama-65b");
        var plan = TrainingPlanner.Plan(config, kernels, new TrainingPlanOptions(Precision.Int8, 0, Qkvo, 16, 512));
        foreach (var item in plan.Items) output.WriteLine($"{item.Category,-12} {item.Name,-60} {item.Bytes / 1e9,8:F2} GB");
        output.WriteLine($"total {plan.Total / 1e9:F2} GB");

        plan.EnsureFits(141_000_000_000, "an H200 (141e9 bytes)");
        plan.EnsureFits(139L << 30, "an H200 (139 GiB usable)");
        Assert.Equal(plan.Total, plan.ByCategory().Sum(c => c.Bytes));
        Assert.Equal(plan.Total, plan.Items.Sum(i => i.Bytes));

        // Independent arithmetic: 80 layers × 4 projections × r·(8192 + 8192) fp32 values, four times over
        // (parameters, gradients, two moments); 81 saved inputs of 8192 tokens × 8192 fp32 (the GPU arena's
        // 256-byte rounding changes nothing at these sizes).
        Assert.Equal(4L * 80 * 4 * 16 * (8192 + 8192) * 4, Category(plan, "adapter"));
        Assert.Equal(81L * 16 * 512 * 8192 * 4, Category(plan, "saved inputs"));
        // One layer: ten hidden-wide, four kv-wide and six ffn-wide rows per token.
        Assert.Equal(16L * 512 * (14 * 8192 + 6 * 22016) * 4, Category(plan, "layer"));
        // The head: normed rows and their gradient for every token, logits for a 1024-token chunk only.
        Assert.Equal(16L * 512 * 2 * 8192 * 4 + 1024L * 32000 * 4, Category(plan, "head"));
        var weights = InferencePlanner.Weights(config, kernels, Precision.Int8, 0).Sum(i => i.Bytes);
        Assert.Equal(weights, Category(plan, "weights"));
        Assert.InRange(weights, 64e9, 68e9);
        // The int8 scratch: every token of the block, 172 blocks of 128 columns (the down projection's 22016
        // inputs), 128 levels and one fp32 scale each.
        Assert.Equal(new Int8MatMulBounds(16 * 512, 22016), plan.Int8);
        Assert.Equal(16L * 512 * 172 * (128 + 4), plan.Items.Single(i => i.Name.StartsWith("int8 activation scratch", StringComparison.Ordinal)).Bytes);
    }

    [Fact]
    public void Auto_picks_the_largest_power_of_two_that_fits_and_fails_with_the_breakdown_when_one_does_not()
    {
        using var kernels = new CpuKernelSet("cpu", 1, Int8MatMul.Best);
        var config = ModelPresets.Resolve("llama-65b");
        var options = new TrainingPlanOptions(Precision.Int8, 0, Qkvo, 0, 512);
        var (microBatch, plan) = TrainingPlanner.ChooseMicroBatch(config, kernels, options, 141_000_000_000, "an H200");
        Assert.Equal(TrainingPlanner.Plan(config, kernels, options with { MicroBatch = microBatch }).Total, plan.Total);
        Assert.True(plan.Total <= 141_000_000_000);
        Assert.True(TrainingPlanner.Plan(config, kernels, options with { MicroBatch = 2 * microBatch }).Total > 141_000_000_000);
        Assert.Equal(0, microBatch & (microBatch - 1));
        Assert.True(microBatch >= 16, $"micro-batch {microBatch}");

        var one = TrainingPlanner.Plan(config, kernels, options with { MicroBatch = 1 });
        var error = Assert.Throws<DromedaryException>(() => TrainingPlanner.ChooseMicroBatch(config, kernels, options, one.Total - 1, "a small GPU"));
        foreach (var category in new[] { "weights", "adapter", "saved inputs", "layer", "head", "workspace", "a small GPU" })
            Assert.Contains(category, error.Message);
        Assert.Equal(1, TrainingPlanner.ChooseMicroBatch(config, kernels, options, one.Total, "a small GPU").MicroBatch);
    }

    /// <summary>
    /// The plan's activation lines for a micro-batch are what the CPU pass sized for it really holds (the arrays it
    /// allocated, summed), but for the device engine's per-token losses (the CPU kernel sums the losses as it goes);
    /// its adapter lines are the adapter's own arrays four times over.
    /// </summary>
    [Theory]
    [InlineData(32, 1, 0.0, false)]
    [InlineData(24, 3, 0.05, true)]
    public void On_the_tiny_model_the_plan_is_what_the_cpu_pass_allocates(int tokens, int microBatch, double dropout, bool allTargets)
    {
        using var loaded = ForwardTests.Load("f32", Precision.Fp32, threads: 1);
        var lora = allTargets ? LoraFixtures.Config(dropout) : Qkvo with { Rank = 4, Dropout = dropout };
        var adapter = LoraAdapter.Create(lora, loaded.Model.Config, 1);
        using var pass = new LoraTrainingPass(loaded.Model, adapter, tokens, 1, microBatch);

        var plan = TrainingPlanner.Plan(loaded.Model.Config, loaded.Kernels, new TrainingPlanOptions(Precision.Fp32, 0, lora, microBatch, tokens));
        var losses = Math.Min(microBatch * tokens, TrainingBuffers.HeadChunk) * sizeof(float);
        Assert.Equal(pass.ActivationBytes, ActivationCategories.Sum(c => Category(plan, c)) - losses);
        Assert.Equal(4L * adapter.Matrices.Sum(m => (long)m.A.Length + m.B.Length) * sizeof(float), Category(plan, "adapter"));
        Assert.Equal(pass.BlockTokens, microBatch * tokens);
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        using var kernels = new CpuKernelSet("cpu", 1, Int8MatMul.Best);
        var config = ModelPresets.Resolve("llama-7b");
        Assert.Throws<DromedaryException>(() => TrainingPlanner.Plan(config, kernels, new TrainingPlanOptions(Precision.Int8, 0, Qkvo, 1, 4096)));
        Assert.Throws<DromedaryException>(() => TrainingPlanner.Plan(config, kernels, new TrainingPlanOptions(Precision.Int8, 0, Qkvo, 0, 512)));
        Assert.Throws<DromedaryException>(() => TrainingPlanner.Plan(config, kernels, new TrainingPlanOptions(Precision.Int8, 0, Qkvo with { Rank = 0 }, 1, 512)));
    }
}
