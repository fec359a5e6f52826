namespace Dromedary.SelfAlign.Evaluation;

/// <summary>
/// One BIG-bench hhh_alignment example: the dialogue input and its two candidate replies with their target
/// scores (1 for the better reply, 0 for the other). Category is the task folder (harmless, helpful, honest,
/// other); Index is the position in that task's "examples".
/// </summary>
public sealed record HhhExample(string Category, int Index, string Input, IReadOnlyList<string> Choices, IReadOnlyList<double> Credits);
