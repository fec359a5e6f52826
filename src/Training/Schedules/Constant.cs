namespace Dromedary.Training.Schedules;

/// <summary>Linear warm-up from 0 to lr over W steps, then lr to the end.</summary>
public sealed class Constant : ILearningRateSchedule
{
    private readonly double _maxLr;
    private readonly int _warmup;

    public Constant(double maxLr, int warmupSteps)
    {
        Schedule.CheckArguments(maxLr, warmupSteps, totalSteps: 0);
        (_maxLr, _warmup) = (maxLr, warmupSteps);
    }

    public double At(int step) =>
        Schedule.InWarmup(step, _warmup) ? Schedule.LinearWarmup(_maxLr, step, _warmup) : _maxLr;
}
