namespace Dromedary.Training.Schedules;

/// <summary>
/// The method's schedule, DeepSpeed's WarmupDecayLR with its default log warm-up (METHOD.md §4.4): for step
/// it &lt; W, lr·ln(it + 1)/ln(W), so the first update runs at 0; then lr·max(0, (T − it)/(T − W)), linear to 0 at
/// T. As in DeepSpeed, a warm-up under 2 steps counts as 2 (ln 1 = 0 would divide by zero) and T − W is at least 1.
/// </summary>
public sealed class LogWarmupLinearDecay : ILearningRateSchedule
{
    private readonly double _maxLr;
    private readonly int _warmup;
    private readonly int _total;

    public LogWarmupLinearDecay(double maxLr, int warmupSteps, int totalSteps)
    {
        Schedule.CheckArguments(maxLr, warmupSteps, totalSteps);
        (_maxLr, _warmup, _total) = (maxLr, Math.Max(2, warmupSteps), totalSteps);
    }

    public double At(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < _warmup) return _maxLr * Math.Log(step + 1) / Math.Log(_warmup);
        return _maxLr * Math.Max(0.0, (double)(_total - step) / Math.Max(1, _total - _warmup));
    }
}
