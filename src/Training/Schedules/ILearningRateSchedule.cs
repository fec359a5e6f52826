namespace Dromedary.Training.Schedules;

/// <summary>The learning rate of each optimizer step; steps count from 0, the first update being step 0.</summary>
public interface ILearningRateSchedule
{
    double At(int step);
}
