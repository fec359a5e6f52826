using System.Text.Json.Nodes;

namespace Dromedary.SelfAlign.Align;

/// <summary>What a knob of the align configuration holds; a wrong JSON kind in a --config file is refused.</summary>
public enum AlignKnobKind
{
    Integer,
    /// <summary>A whole number or null (no cap).</summary>
    OptionalInteger,
    Number,
    Text,
}

/// <summary>One parameter of one stage, as the --config file and run.json name it ("section.key"), with its default.</summary>
public sealed record AlignKnob(string Section, string Key, AlignKnobKind Kind, JsonNode? Default)
{
    public string Name => $"{Section}.{Key}";

    public static AlignKnob Integer(string section, string key, int value) => new(section, key, AlignKnobKind.Integer, JsonValue.Create(value));
    public static AlignKnob OptionalInteger(string section, string key, int? value) =>
        new(section, key, AlignKnobKind.OptionalInteger, value is { } v ? JsonValue.Create(v) : null);
    /// <summary>A float default is recorded as it reads (0.98, not 0.9800000190734863).</summary>
    public static AlignKnob Number(string section, string key, float value) =>
        new(section, key, AlignKnobKind.Number, JsonValue.Create(double.Parse(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture)));
    public static AlignKnob Number(string section, string key, double value) => new(section, key, AlignKnobKind.Number, JsonValue.Create(value));
    public static AlignKnob Text(string section, string key, string value) => new(section, key, AlignKnobKind.Text, JsonValue.Create(value));

    /// <summary>Null when <paramref name="value"/> suits this knob, else what it should be.</summary>
    public string? Problem(JsonNode? value)
    {
        var kind = value?.GetValueKind();
        return Kind switch
        {
            AlignKnobKind.Integer when kind != System.Text.Json.JsonValueKind.Number || !IsWhole(value!) => "a whole number",
            AlignKnobKind.OptionalInteger when value is not null && (kind != System.Text.Json.JsonValueKind.Number || !IsWhole(value)) => "a whole number or null",
            AlignKnobKind.Number when kind != System.Text.Json.JsonValueKind.Number => "a number",
            AlignKnobKind.Text when kind != System.Text.Json.JsonValueKind.String => "a string",
            _ => null,
        };
    }

    /// <summary><paramref name="value"/> (already checked by <see cref="Problem"/>) in the form run.json records.</summary>
    public JsonNode? Normalize(JsonNode? value) => value is null ? null : Kind switch
    {
        AlignKnobKind.Integer or AlignKnobKind.OptionalInteger => JsonValue.Create((int)NumberOf(value)),
        AlignKnobKind.Number => JsonValue.Create(NumberOf(value)),
        _ => JsonValue.Create(value.GetValue<string>()),
    };

    public static double NumberOf(JsonNode value) =>
        double.Parse(value.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);

    private static bool IsWhole(JsonNode value)
    {
        var number = NumberOf(value);
        return number == Math.Floor(number) && Math.Abs(number) <= int.MaxValue;
    }
}
