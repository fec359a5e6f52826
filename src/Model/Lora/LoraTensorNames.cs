using System.Globalization;
using System.Text.RegularExpressions;

namespace Dromedary.Model.Lora;

/// <summary>PEFT's tensor names for a LoRA adapter on LlamaForCausalLM: base_model.model.model.layers.{i}.{module}.lora_{A|B}.weight.</summary>
public static partial class LoraTensorNames
{
    private const string Prefix = "base_model.model.";

    public static string Name(int layer, LoraTarget target, char matrix) =>
        $"{Prefix}model.layers.{layer}.{target.ModulePath()}.lora_{matrix}.weight";

    /// <summary>
    /// Splits a PEFT name into layer, module path (self_attn.q_proj, …) and matrix; false for names that are not a
    /// LoRA A/B weight under a layer's self_attn or mlp.
    /// </summary>
    public static bool TryParse(string name, out int layer, out string module, out char matrix)
    {
        var match = Pattern().Match(name);
        (layer, module, matrix) = match.Success
            ? (int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value, match.Groups[3].Value[0])
            : (-1, "", ' ');
        return match.Success;
    }

    [GeneratedRegex(@"^base_model\.model\.model\.layers\.(\d{1,6})\.((?:self_attn|mlp)\.\w+)\.lora_([AB])\.weight$")]
    private static partial Regex Pattern();
}
