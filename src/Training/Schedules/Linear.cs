namespace Dromedary.Training.Schedules;

/// <summary>
/// Linear warm-up from 0 to lr over W steps, then linear decay to 0 at step T, as Hugging Face's
/// get_linear_schedule_with_warmup.
/// </summary>
public sealed class Linear : ILearningRateSchedule
{
    private readonly double _maxLr;
    private readonly int _warmup;
    private readonly int _total;

    public Linear(double maxLr, int warmupSteps, int totalSteps)
    {
        Schedule.CheckArguments(maxLr, warmupSteps, totalSteps);
        (_maxLr, _warmup, _total) = (maxLr, warmupSteps, totalSteps);
    }

    public double At(int step) =>
        Schedule.InWarmup(step, _warmup) ? Schedule.LinearWarmup(_maxLr, step, _warmup)
            : _maxLr * Math.Max(0.0, (double)(_total - step) / Math.Max(1, _total - _warmup));
}
