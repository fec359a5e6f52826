namespace Dromedary.Training.Schedules;

/// <summary>
/// Linear warm-up from 0 to lr over W steps, then half a cosine down to 0 at step T and 0 after, as Hugging Face's
/// get_cosine_schedule_with_warmup.
/// </summary>
public sealed class Cosine : ILearningRateSchedule
{
    private readonly double _maxLr;
    private readonly int _warmup;
    private readonly int _total;

    public Cosine(double maxLr, int warmupSteps, int totalSteps)
    {
        Schedule.CheckArguments(maxLr, warmupSteps, totalSteps);
        (_maxLr, _warmup, _total) = (maxLr, warmupSteps, totalSteps);
    }

    public double At(int step)
    {
        if (Schedule.InWarmup(step, _warmup)) return Schedule.LinearWarmup(_maxLr, step, _warmup);
        var progress = Math.Min(1.0, (double)(step - _warmup) / Math.Max(1, _total - _warmup));
        return _maxLr * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
