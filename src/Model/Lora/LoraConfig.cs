namespace Dromedary.Model.Lora;

/// <summary>
/// A LoRA adapter's hyperparameters, as PEFT's LoraConfig names them. The defaults are the method's (METHOD.md
/// §4.3): r 16, alpha 16, dropout 0.05 on q, k, v and o. Each targeted projection becomes
/// y = x·Wᵀ + (alpha/r)·(dropout(x)·Aᵀ)·Bᵀ.
/// </summary>
public sealed record LoraConfig
{
    public int Rank { get; init; } = 16;
    public double Alpha { get; init; } = 16;
    public double Dropout { get; init; } = 0.05;
    public IReadOnlyList<LoraTarget> Targets { get; init; } = [LoraTarget.Query, LoraTarget.Key, LoraTarget.Value, LoraTarget.Output];

    /// <summary>Written to adapter_config.json as base_model_name_or_path; informational.</summary>
    public string BaseModel { get; init; } = "";

    /// <summary>alpha / r, the factor on the adapter's output.</summary>
    public float Scaling => (float)(Alpha / Rank);

    /// <summary>Throws a DromedaryException naming <paramref name="source"/> when a value is out of range.</summary>
    public void Validate(string source)
    {
        if (Rank < 1) throw new DromedaryException($"{source}: LoRA rank r must be at least 1, not {Rank}.");
        if (!(Alpha > 0) || double.IsInfinity(Alpha)) throw new DromedaryException($"{source}: lora_alpha must be positive, not {Alpha}.");
        if (!(Dropout is >= 0 and < 1)) throw new DromedaryException($"{source}: lora_dropout must be in [0, 1), not {Dropout}.");
        if (Targets.Count == 0) throw new DromedaryException($"{source}: target_modules is empty.");
        if (Targets.Distinct().Count() != Targets.Count) throw new DromedaryException($"{source}: target_modules repeats a module.");
    }
}
