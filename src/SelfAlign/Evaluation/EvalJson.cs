using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dromedary.SelfAlign.Evaluation;

/// <summary>The JSON conventions of result and journal files: snake_case, readable text, ±Infinity allowed.</summary>
internal static class EvalJson
{
    public static readonly JsonSerializerOptions Lines = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static readonly JsonSerializerOptions Indented = new(Lines) { WriteIndented = true };
}
