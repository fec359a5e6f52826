using Dromedary.SelfAlign.Align;
using Dromedary.Training.Trainer;

namespace Dromedary.Runner;

/// <summary>align's lines and bars on stderr, so stdout holds only where the report went.</summary>
internal sealed class AlignDisplay : IAlignDisplay
{
    public void Say(string line) => Console.Error.WriteLine(line);

    public T Items<T>(string title, string unit, Func<IProgress<(int Done, int Total)>, T> work) => ProgressDisplay.Run(title, unit, work);

    public T Training<T>(string title, Func<IProgress<TrainingProgress>, T> work) =>
        ProgressDisplay.RunWithStatus(title, progress => work(new TrainingStatus(progress)));
}
