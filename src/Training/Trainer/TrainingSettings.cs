using System.Text.Json;
using System.Text.Json.Nodes;
using Dromedary.Training.Schedules;

namespace Dromedary.Training.Trainer;

/// <summary>
/// Everything that fixes a run's result: the optimizer's settings the trainer uses, and in
/// <see cref="Inputs"/> what the caller made the examples and the adapter from (base model, precision, data,
/// template, LoRA config, …), as named strings. A resumed run must have equal settings. What only changes speed or
/// memory (micro-batch size, kernels, threads, checkpoint interval) is not part of it.
/// </summary>
/// <param name="MaxGradNorm">Clip the global gradient norm to this; 0 turns clipping off.</param>
public sealed record TrainingSettings(
    double LearningRate,
    int WarmupSteps,
    string Schedule,
    int Epochs,
    int BatchSize,
    double MaxGradNorm,
    int Seed,
    IReadOnlyDictionary<string, string> Inputs)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>Throws a DromedaryException naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new DromedaryException($"--epochs must be at least 1, not {Epochs}.");
        if (BatchSize < 1) throw new DromedaryException($"--batch must be at least 1, not {BatchSize}.");
        if (!(MaxGradNorm >= 0) || double.IsInfinity(MaxGradNorm)) throw new DromedaryException($"--clip must be finite and ≥ 0 (0: off), not {MaxGradNorm}.");
        CreateSchedule(totalSteps: 1);
    }

    /// <summary>Optimizer steps of the run: ⌈examples / batch⌉ per epoch, the last batch of an epoch possibly short.</summary>
    public int TotalSteps(int examples) => checked(Epochs * ((examples + BatchSize - 1) / BatchSize));

    public ILearningRateSchedule CreateSchedule(int totalSteps) => Schedules.Schedule.Parse(Schedule, LearningRate, WarmupSteps, totalSteps);

    public JsonNode ToJson() => JsonSerializer.SerializeToNode(this, Json)!;

    public static TrainingSettings FromJson(JsonNode node, string source)
    {
        try
        {
            return node.Deserialize<TrainingSettings>(Json) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new DromedaryException($"{source}: the run's settings cannot be read ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Throws when <paramref name="saved"/> (read from <paramref name="source"/>) differs from these settings,
    /// naming every setting that differs with both values.
    /// </summary>
    public void CheckSameAs(TrainingSettings saved, string source)
    {
        var differences = new List<string>();
        Compare(ToJson(), saved.ToJson(), "", differences);
        if (differences.Count > 0)
            throw new DromedaryException($"--resume: this run's settings differ from those in {source}: {string.Join("; ", differences)}. " +
                                         "Resume with the same settings, or start a new run in another --out folder.");
    }

    private static void Compare(JsonNode? now, JsonNode? before, string path, List<string> differences)
    {
        if (now is JsonObject a && before is JsonObject b)
        {
            foreach (var name in a.Select(p => p.Key).Union(b.Select(p => p.Key)))
                Compare(a[name], b[name], path.Length == 0 ? name : $"{path}.{name}", differences);
            return;
        }
        if (!JsonNode.DeepEquals(now, before))
            differences.Add($"{path} is {Text(now)} now but was {Text(before)}");
    }

    private static string Text(JsonNode? node) => node?.ToJsonString() ?? "absent";
}
