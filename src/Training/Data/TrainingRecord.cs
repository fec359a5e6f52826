namespace Dromedary.Training.Data;

/// <summary>
/// One supervised example in the method's record format (METHOD.md §4.1): an instruction, an optional input
/// ("" when absent), the answer to learn, and the id that picks the meta prompt when there are several.
/// </summary>
public sealed record TrainingRecord(string Instruction, string Input, string Output, int? ExampleId);
