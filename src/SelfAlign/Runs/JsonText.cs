using System.Text.Encodings.Web;
using System.Text.Json;

namespace Dromedary.SelfAlign.Runs;

/// <summary>How run files are written: UTF-8 text left readable (no \u escapes for non-ASCII or for &lt; &gt; &amp;).</summary>
internal static class JsonText
{
    public static readonly JsonSerializerOptions Compact = new() { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
