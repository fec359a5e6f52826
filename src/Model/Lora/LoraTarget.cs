using Dromedary.Model.Config;
using Dromedary.Model.Llama;

namespace Dromedary.Model.Lora;

/// <summary>A projection of a LLaMA layer that can carry a LoRA adapter, in the order a layer uses them.</summary>
public enum LoraTarget
{
    Query,
    Key,
    Value,
    Output,
    Gate,
    Up,
    Down,
}

public static class LoraTargets
{
    public static readonly LoraTarget[] All = Enum.GetValues<LoraTarget>();

    /// <summary>PEFT's target_modules name: q_proj, k_proj, …, down_proj.</summary>
    public static string PeftName(this LoraTarget target)
    {
        var path = ModulePath(target);
        return path[(path.IndexOf('.') + 1)..];
    }

    /// <summary>The module under model.layers.{i}: self_attn.q_proj, …, mlp.down_proj.</summary>
    public static string ModulePath(this LoraTarget target) => TensorNames.LayerLinears[(int)target];

    /// <summary>(out, in) features of the projection's weight.</summary>
    public static (int Out, int In) Shape(this LoraTarget target, LlamaConfig model) => target switch
    {
        LoraTarget.Query or LoraTarget.Output => (model.HiddenSize, model.HiddenSize),
        LoraTarget.Key or LoraTarget.Value => (model.KvDim, model.HiddenSize),
        LoraTarget.Gate or LoraTarget.Up => (model.IntermediateSize, model.HiddenSize),
        LoraTarget.Down => (model.HiddenSize, model.IntermediateSize),
        _ => throw new ArgumentOutOfRangeException(nameof(target)),
    };

    /// <summary>Parses a PEFT module name (q_proj …) or a short one (q, k, v, o, gate, up, down).</summary>
    public static bool TryParse(string name, out LoraTarget target)
    {
        var bare = name.EndsWith("_proj", StringComparison.Ordinal) ? name[..^"_proj".Length] : name;
        var index = Array.FindIndex(All, t => t.PeftName() == bare + "_proj");
        target = index < 0 ? default : All[index];
        return index >= 0;
    }
}
