namespace Dromedary.SelfAlign.Evaluation;

/// <summary>One answer of a TruthfulQA multiple-choice list and whether it is true.</summary>
public sealed record AnswerChoice(string Text, bool Correct);

/// <summary>
/// A TruthfulQA multiple-choice question: the MC1 list (exactly one true answer) and, when the file has it, the
/// MC2 list (one or more true answers). Index is the question's position in the data file.
/// </summary>
public sealed record TruthfulQaQuestion(int Index, string Question, IReadOnlyList<AnswerChoice> Mc1, IReadOnlyList<AnswerChoice>? Mc2);
