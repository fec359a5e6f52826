using Dromedary.Training.Trainer;

namespace Dromedary.SelfAlign.Align;

/// <summary>Where `align` says what it does: a line per stage, a bar for generation, a status line for training.</summary>
public interface IAlignDisplay
{
    void Say(string line);

    T Items<T>(string title, string unit, Func<IProgress<(int Done, int Total)>, T> work);

    T Training<T>(string title, Func<IProgress<TrainingProgress>, T> work);
}
