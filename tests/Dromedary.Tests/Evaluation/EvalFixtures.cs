using System.Text.Json;

namespace Dromedary.Tests.Evaluation;

/// <summary>The evaluation fixtures (tests/fixtures/eval) and the reference values make_eval_reference.py computed.</summary>
public static class EvalFixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "eval");

    public static string TruthfulQa(string file) => Path.Combine(Root, "truthfulqa", file);

    public static string Hhh => Path.Combine(Root, "hhh_alignment");

    public static string System => Path.Combine(Root, "system.txt");

    /// <summary>Parsed reference.json; disposed with the test process.</summary>
    public static JsonElement Reference => ReferenceDocument.Value.RootElement;

    /// <summary>The --max-seq-len the reference's HHH prompts were truncated for.</summary>
    public static int HhhMaxSeqLen => Reference.GetProperty("hhh_max_seq_len").GetInt32();

    private static readonly Lazy<JsonDocument> ReferenceDocument = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "reference.json"))));

    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(value => value.GetDouble()).ToArray();

    public static string[] Strings(JsonElement array) => array.EnumerateArray().Select(value => value.GetString()!).ToArray();
}
