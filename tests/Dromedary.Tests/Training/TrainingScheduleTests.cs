using Dromedary.Training.Schedules;
using Xunit;

namespace Dromedary.Tests.Training;

/// <summary>Each schedule at chosen steps against values worked out by hand (warm-up 100, 1000 steps, lr 4e-4).</summary>
public sealed class TrainingScheduleTests
{
    private const double Lr = 4e-4;
    private const int Warmup = 100;
    private const int Total = 1000;

    private static void AssertAt(ILearningRateSchedule schedule, int step, double expected) =>
        Assert.True(Math.Abs(schedule.At(step) - expected) <= 1e-15, $"step {step}: expected {expected}, got {schedule.At(step)}");

    [Fact]
    public void Log_warmup_then_linear_decay_follows_DeepSpeed()
    {
        var schedule = new LogWarmupLinearDecay(Lr, Warmup, Total);
        AssertAt(schedule, 0, 0);
        AssertAt(schedule, 9, Lr * Math.Log(10) / Math.Log(100));
        AssertAt(schedule, 9, Lr / 2);
        AssertAt(schedule, 99, Lr * Math.Log(100) / Math.Log(100));
        AssertAt(schedule, 100, Lr);
        AssertAt(schedule, 550, Lr * 450 / 900);
        AssertAt(schedule, 999, Lr / 900);
        AssertAt(schedule, 1000, 0);
        AssertAt(schedule, 1200, 0);
    }

    [Fact]
    public void Log_warmup_under_two_steps_counts_as_two_like_DeepSpeed()
    {
        var schedule = new LogWarmupLinearDecay(Lr, 0, 10);
        AssertAt(schedule, 0, 0);
        AssertAt(schedule, 1, Lr * Math.Log(2) / Math.Log(2));
        AssertAt(schedule, 6, Lr * 4 / 8);
    }

    [Fact]
    public void Linear_warms_up_and_decays_linearly()
    {
        var schedule = new Linear(Lr, Warmup, Total);
        AssertAt(schedule, 0, 0);
        AssertAt(schedule, 50, Lr / 2);
        AssertAt(schedule, 100, Lr);
        AssertAt(schedule, 550, Lr / 2);
        AssertAt(schedule, 1000, 0);
        AssertAt(schedule, 1001, 0);
    }

    [Fact]
    public void Cosine_warms_up_linearly_then_follows_half_a_cosine()
    {
        var schedule = new Cosine(Lr, Warmup, Total);
        AssertAt(schedule, 25, Lr / 4);
        AssertAt(schedule, 100, Lr);
        AssertAt(schedule, 325, Lr * 0.5 * (1 + Math.Sqrt(0.5)));
        AssertAt(schedule, 550, Lr / 2);
        AssertAt(schedule, 1000, 0);
        AssertAt(schedule, 5000, 0);
    }

    [Fact]
    public void Constant_warms_up_linearly_then_holds()
    {
        var schedule = new Constant(Lr, Warmup);
        AssertAt(schedule, 0, 0);
        AssertAt(schedule, 75, Lr * 0.75);
        AssertAt(schedule, 100, Lr);
        AssertAt(schedule, 1_000_000, Lr);
        AssertAt(new Constant(Lr, 0), 0, Lr);
    }

    [Theory]
    [InlineData("log-linear", typeof(LogWarmupLinearDecay))]
    [InlineData("linear", typeof(Linear))]
    [InlineData("cosine", typeof(Cosine))]
    [InlineData("constant", typeof(Constant))]
    public void Names_parse_to_their_schedule(string name, Type type) =>
        Assert.IsType(type, Schedule.Parse(name, Lr, Warmup, Total));

    [Fact]
    public void An_unknown_name_lists_the_known_ones()
    {
        var error = Assert.Throws<DromedaryException>(() => Schedule.Parse("exponential", Lr, Warmup, Total));
        Assert.Contains("\"exponential\"", error.Message);
        Assert.Contains("log-linear, linear, cosine, constant", error.Message);
    }

    [Fact]
    public void Bad_settings_and_steps_are_rejected()
    {
        Assert.Throws<DromedaryException>(() => new Linear(-1, Warmup, Total));
        Assert.Throws<DromedaryException>(() => new Cosine(Lr, -1, Total));
        Assert.Throws<DromedaryException>(() => new LogWarmupLinearDecay(Lr, Warmup, -5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LogWarmupLinearDecay(Lr, Warmup, Total).At(-1));
    }
}
