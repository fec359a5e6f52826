namespace Dromedary.SelfAlign.Principles;

/// <summary>A rule of the prompt's rule list, written "N (short name). sentence" (METHOD.md §3.1).</summary>
public sealed record Principle(int Number, string Name, string Text);
