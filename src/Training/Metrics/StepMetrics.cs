using System.Text.Json.Serialization;

namespace Dromedary.Training.Metrics;

/// <summary>One optimizer step as metrics.jsonl records it.</summary>
/// <param name="Loss">Mean cross-entropy over the step's counted tokens.</param>
/// <param name="GradNorm">Global gradient norm before clipping.</param>
/// <param name="Tokens">Counted (loss-bearing) tokens of the step.</param>
/// <param name="Elapsed">Seconds since the run (or the resumed run) started.</param>
public sealed record StepMetrics(
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("loss")] double Loss,
    [property: JsonPropertyName("lr")] double LearningRate,
    [property: JsonPropertyName("grad_norm")] double GradNorm,
    [property: JsonPropertyName("tokens")] long Tokens,
    [property: JsonPropertyName("tokens_per_second")] double TokensPerSecond,
    [property: JsonPropertyName("elapsed")] double Elapsed);
