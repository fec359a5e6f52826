namespace Dromedary.SelfAlign.Evaluation;

/// <summary>A target text whose log-likelihood after a prompt is wanted.</summary>
public sealed record ScoredText(string Prompt, string Target);
