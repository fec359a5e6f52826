namespace Dromedary.Training.Data;

/// <summary>
/// Turns a record into the training text, split where the loss starts: <c>Prompt</c> is masked and
/// <c>Answer</c> is counted. Training knows no prompt template; SelfAlign supplies one.
/// </summary>
public interface ITrainingFormatter
{
    (string Prompt, string Answer) Format(TrainingRecord record);
}
