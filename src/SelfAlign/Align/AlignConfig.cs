using System.Text.Json;
using System.Text.Json.Nodes;
using Dromedary.Model.Lora;
using Dromedary.SelfAlign.FineTuning;
using Dromedary.SelfAlign.Principles;
using Dromedary.SelfAlign.SelfInstruct;
using Dromedary.SelfAlign.Tgrt;
using Dromedary.SelfAlign.VerboseCloning;

namespace Dromedary.SelfAlign.Align;

/// <summary>
/// Every parameter `align` passes to its stages, one JSON object per stage: the method's defaults (taken from each
/// stage's options, so there is one source of them), with the overrides of a --config file of the same shape.
/// A null cap ("max_queries": null) means all.
/// </summary>
public sealed class AlignConfig
{
    public const string SelfInstruct = "self_instruct";
    public const string TgrtTopics = "tgrt_topics";
    public const string TgrtQuestions = "tgrt_questions";
    public const string SelfAlign = "self_align";
    public const string Engrave = "engrave";
    public const string VerboseClone = "verbose_clone";

    /// <summary>The demo's small scale: an embedded file in the --config format.</summary>
    public const string DemoResource = "Dromedary.SelfAlign.Align.demo-config.json";

    private readonly JsonObject _values;

    private AlignConfig(JsonObject values) => _values = values;

    public static IReadOnlyList<AlignKnob> Knobs { get; } = BuildKnobs();

    /// <summary>The method's defaults.</summary>
    public static AlignConfig Defaults() => Apply(new JsonObject(), "defaults");

    /// <summary>The defaults with the overrides of <paramref name="path"/>; null gives the defaults.</summary>
    public static AlignConfig Load(string? path)
    {
        if (path is null) return Defaults();
        if (!File.Exists(path)) throw new DromedaryException($"{path}: not found.");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>The demo's embedded configuration.</summary>
    public static AlignConfig Demo()
    {
        using var stream = typeof(AlignConfig).Assembly.GetManifestResourceStream(DemoResource)
            ?? throw new DromedaryException($"this build has no embedded {DemoResource}.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), DemoResource);
    }

    public static AlignConfig Parse(string json, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new DromedaryException($"{source}: not valid JSON (line {e.LineNumber + 1}): {e.Message}");
        }
        if (root is not JsonObject overrides) throw new DromedaryException($"{source}: expected a JSON object of stages, e.g. {{\"{SelfAlign}\": {{\"max_queries\": 50}}}}.");
        return Apply(overrides, source);
    }

    /// <summary>Every effective parameter, as run.json records it.</summary>
    public JsonObject ToJson() => (JsonObject)_values.DeepClone();

    public int Int(string section, string key) => Value(section, key)!.GetValue<int>();
    public int? OptionalInt(string section, string key) => Value(section, key)?.GetValue<int>();
    public double Number(string section, string key) => Value(section, key)!.GetValue<double>();
    public float Float(string section, string key) => (float)Number(section, key);
    public string Text(string section, string key) => Value(section, key)!.GetValue<string>();

    private JsonNode? Value(string section, string key) =>
        _values[section] is JsonObject values && values.ContainsKey(key) ? values[key] : throw new InvalidOperationException($"no knob {section}.{key}");

    private static AlignConfig Apply(JsonObject overrides, string source)
    {
        var sections = Knobs.Select(k => k.Section).Distinct().ToList();
        foreach (var (section, node) in overrides)
        {
            if (!sections.Contains(section))
                throw new DromedaryException($"{source}: unknown key '{section}'; the stages are {string.Join(", ", sections)}.");
            if (node is not JsonObject values) throw new DromedaryException($"{source}: '{section}' must be an object of parameters.");
            foreach (var (key, value) in values)
            {
                var knob = Knobs.FirstOrDefault(k => k.Section == section && k.Key == key)
                    ?? throw new DromedaryException($"{source}: unknown key '{section}.{key}'; {section} takes " +
                                                    string.Join(", ", Knobs.Where(k => k.Section == section).Select(k => k.Key)) + ".");
                if (knob.Problem(value) is { } expected)
                    throw new DromedaryException($"{source}: '{knob.Name}' must be {expected}, not {value?.ToJsonString() ?? "null"}.");
            }
        }
        var effective = new JsonObject();
        foreach (var section in sections)
        {
            var values = new JsonObject();
            foreach (var knob in Knobs.Where(k => k.Section == section))
                values[knob.Key] = overrides[section] is JsonObject given && given.ContainsKey(knob.Key) ? knob.Normalize(given[knob.Key]) : knob.Default?.DeepClone();
            effective[section] = values;
        }
        return new AlignConfig(effective);
    }

    private static List<AlignKnob> BuildKnobs()
    {
        var si = new SelfInstructOptions("", []);
        var topics = new TgrtTopicsOptions("", []);
        var questions = new TgrtQuestionsOptions("", [], []);
        var align = new SelfAlignOptions(null!, [], []);
        List<AlignKnob> knobs =
        [
            AlignKnob.Integer(SelfInstruct, "target", si.Target),
            AlignKnob.OptionalInteger(SelfInstruct, "max_prompts", si.MaxPrompts),
            AlignKnob.Integer(SelfInstruct, "batch_size", si.BatchSize),
            AlignKnob.Integer(SelfInstruct, "demonstrations", si.Demonstrations),
            AlignKnob.Number(SelfInstruct, "similarity", si.SimilarityThreshold),
            AlignKnob.Number(SelfInstruct, "temperature", si.Temperature),
            AlignKnob.Number(SelfInstruct, "top_p", si.TopP),
            AlignKnob.Integer(SelfInstruct, "max_new_tokens", si.MaxNewTokens),

            AlignKnob.OptionalInteger(TgrtTopics, "question_types", null),
            AlignKnob.Integer(TgrtTopics, "epochs", topics.Epochs),
            AlignKnob.Integer(TgrtTopics, "examples", topics.Examples),
            AlignKnob.Number(TgrtTopics, "temperature", topics.Temperature),
            AlignKnob.Number(TgrtTopics, "top_p", topics.TopP),
            AlignKnob.Integer(TgrtTopics, "max_new_tokens", topics.MaxNewTokens),

            AlignKnob.OptionalInteger(TgrtQuestions, "max_topics", null),
            AlignKnob.Integer(TgrtQuestions, "demonstrations", questions.Demonstrations),
            AlignKnob.Integer(TgrtQuestions, "hints", questions.HintsPerPrompt),
            AlignKnob.Number(TgrtQuestions, "temperature", questions.Temperature),
            AlignKnob.Number(TgrtQuestions, "top_p", questions.TopP),
            AlignKnob.Integer(TgrtQuestions, "max_new_tokens", questions.MaxNewTokens),

            AlignKnob.OptionalInteger(SelfAlign, "max_queries", null),
            AlignKnob.Number(SelfAlign, "temperature", align.Temperature),
            AlignKnob.Number(SelfAlign, "top_p", align.TopP),
            AlignKnob.Integer(SelfAlign, "max_new_tokens", align.MaxNewTokens),
            AlignKnob.Text(SelfAlign, "name", align.Name),
            // The identity answers added to the set (the original: all of them, beside some 360 k answers).
            AlignKnob.OptionalInteger(SelfAlign, "identity_examples", null),

            .. TrainingKnobs(Engrave, FineTuneOptions.DefaultCutoff),

            AlignKnob.OptionalInteger(VerboseClone, "max_queries", null),
            AlignKnob.Integer(VerboseClone, "max_new_tokens", VerbosePrompt.MaxNewTokens),
            .. TrainingKnobs(VerboseClone, VerboseCloneRun.Cutoff),
        ];
        return knobs;
    }

    private static IEnumerable<AlignKnob> TrainingKnobs(string section, int cutoff)
    {
        var run = new FineTuneOptions { Base = "", Data = "", Out = "" };
        var lora = new LoraConfig();
        yield return AlignKnob.Integer(section, "lora_r", lora.Rank);
        yield return AlignKnob.Number(section, "lora_alpha", lora.Alpha);
        yield return AlignKnob.Number(section, "lora_dropout", lora.Dropout);
        yield return AlignKnob.Text(section, "targets", string.Join(",", lora.Targets.Select(t => t.PeftName())));
        yield return AlignKnob.Number(section, "lr", run.LearningRate);
        yield return AlignKnob.Integer(section, "warmup", run.Warmup);
        yield return AlignKnob.Text(section, "schedule", run.Schedule);
        yield return AlignKnob.Integer(section, "epochs", run.Epochs);
        yield return AlignKnob.Integer(section, "batch", run.Batch);
        yield return AlignKnob.OptionalInteger(section, "micro_batch", run.MicroBatch);
        yield return AlignKnob.Integer(section, "cutoff", cutoff);
        yield return AlignKnob.Number(section, "clip", run.Clip);
        yield return AlignKnob.Integer(section, "checkpoint_every", run.CheckpointEvery);
    }
}
