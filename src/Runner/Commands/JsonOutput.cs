using System.Text.Encodings.Web;
using System.Text.Json;

namespace Dromedary.Runner.Commands;

internal static class JsonOutput
{
    /// <summary>Compact JSON that keeps non-ASCII text readable (pieces like "▁Hello").</summary>
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
