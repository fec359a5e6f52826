namespace Dromedary.Training.Schedules;

/// <summary>Schedules by name, and the checks and linear warm-up they share.</summary>
public static class Schedule
{
    public static readonly IReadOnlyList<string> Names = ["log-linear", "linear", "cosine", "constant"];

    /// <summary>The schedule called <paramref name="name"/>: log-linear (the method's), linear, cosine or constant.</summary>
    public static ILearningRateSchedule Parse(string name, double maxLr, int warmupSteps, int totalSteps) => name switch
    {
        "log-linear" => new LogWarmupLinearDecay(maxLr, warmupSteps, totalSteps),
        "linear" => new Linear(maxLr, warmupSteps, totalSteps),
        "cosine" => new Cosine(maxLr, warmupSteps, totalSteps),
        "constant" => new Constant(maxLr, warmupSteps),
        _ => throw new DromedaryException($"unknown learning-rate schedule \"{name}\"; use one of {string.Join(", ", Names)}."),
    };

    /// <summary>Rejects settings no schedule can mean; they come from the command line, hence user errors.</summary>
    internal static void CheckArguments(double maxLr, int warmupSteps, int totalSteps)
    {
        if (!(maxLr >= 0) || double.IsInfinity(maxLr)) throw new DromedaryException($"the learning rate must be finite and ≥ 0, not {maxLr}.");
        if (warmupSteps < 0) throw new DromedaryException($"warm-up steps must be ≥ 0, not {warmupSteps}.");
        if (totalSteps < 0) throw new DromedaryException($"total steps must be ≥ 0, not {totalSteps}.");
    }

    internal static bool InWarmup(int step, int warmupSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return step < warmupSteps;
    }

    internal static double LinearWarmup(double maxLr, int step, int warmupSteps) => maxLr * step / warmupSteps;
}
