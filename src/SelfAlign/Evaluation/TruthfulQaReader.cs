using System.Text.Json;
using Dromedary.Model;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Evaluation;

/// <summary>
/// Reads TruthfulQA multiple choice in both published shapes, as a JSON array or JSON Lines: the original
/// <c>mc_task.json</c> (<c>"mc1_targets": {"answer text": 1, "other": 0, …}</c>) and the Hugging Face one
/// (<c>"mc1_targets": {"choices": [...], "labels": [...]}</c>). "question" and "mc1_targets" are required,
/// "mc2_targets" is optional. Every bad entry is reported with its file, line and element.
/// </summary>
public static class TruthfulQaReader
{
    public static IReadOnlyList<TruthfulQaQuestion> Read(string path)
    {
        var records = JsonRecordFile.Read(path, allowArray: true, "TruthfulQA questions", Parse);
        return records.Select((question, index) => question with { Index = index }).ToArray();
    }

    private static TruthfulQaQuestion? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        var question = JsonFields.String(record, "question", required: true, problems);
        var mc1 = Targets(record, "mc1_targets", required: true, problems);
        var mc2 = Targets(record, "mc2_targets", required: false, problems);
        if (mc1 is not null && mc1.Count(choice => choice.Correct) != 1)
            problems.Add($"\"mc1_targets\" must mark exactly one answer true, not {mc1.Count(choice => choice.Correct)}");
        if (mc2 is not null && !mc2.Any(choice => choice.Correct))
            problems.Add("\"mc2_targets\" marks no answer true");
        return problems.Count == before ? new TruthfulQaQuestion(0, question!, mc1!, mc2) : null;
    }

    private static AnswerChoice[]? Targets(JsonElement record, string name, bool required, List<string> problems)
    {
        if (!record.TryGetProperty(name, out var targets) || targets.ValueKind == JsonValueKind.Null)
        {
            if (required) problems.Add($"missing \"{name}\"");
            return null;
        }
        if (targets.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"\"{name}\" must be an object, not {JsonKinds.Describe(targets.ValueKind)}");
            return null;
        }
        var before = problems.Count;
        var choices = targets.TryGetProperty("choices", out var list) && list.ValueKind == JsonValueKind.Array
            ? HuggingFaceShape(targets, list, name, problems)
            : OriginalShape(targets, name, problems);
        if (problems.Count > before) return null;
        if (choices.Length == 0) problems.Add($"\"{name}\" has no answers");
        return problems.Count == before ? choices : null;
    }

    /// <summary>{"choices": [text, …], "labels": [0|1, …]}.</summary>
    private static AnswerChoice[] HuggingFaceShape(JsonElement targets, JsonElement choices, string name, List<string> problems)
    {
        if (!targets.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"\"{name}\" has \"choices\" but no \"labels\" array");
            return [];
        }
        if (labels.GetArrayLength() != choices.GetArrayLength())
        {
            problems.Add($"\"{name}\" has {choices.GetArrayLength()} choices but {labels.GetArrayLength()} labels");
            return [];
        }
        var texts = choices.EnumerateArray().ToArray();
        var marks = labels.EnumerateArray().ToArray();
        var result = new AnswerChoice[texts.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            var text = AnswerText(texts[i], $"\"{name}\".\"choices\"[{i}]", problems);
            var correct = Label(marks[i], $"\"{name}\".\"labels\"[{i}]", problems);
            result[i] = new AnswerChoice(text ?? "", correct ?? false);
        }
        return result;
    }

    /// <summary>{"answer text": 0|1, …}, answers in file order.</summary>
    private static AnswerChoice[] OriginalShape(JsonElement targets, string name, List<string> problems) =>
        targets.EnumerateObject().Select(answer =>
        {
            if (answer.Name.Trim().Length == 0) problems.Add($"\"{name}\" has an empty answer");
            return new AnswerChoice(answer.Name, Label(answer.Value, $"\"{name}\".\"{answer.Name}\"", problems) ?? false);
        }).ToArray();

    private static string? AnswerText(JsonElement value, string where, List<string> problems)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{where} must be a string, not {JsonKinds.Describe(value.ValueKind)}");
            return null;
        }
        var text = value.GetString()!;
        if (text.Trim().Length == 0) problems.Add($"{where} is empty");
        return text;
    }

    private static bool? Label(JsonElement value, string where, List<string> problems)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var label) && label is 0 or 1) return label == 1;
        problems.Add($"{where} must be 0 or 1, not {(value.ValueKind == JsonValueKind.Number ? value.GetRawText() : JsonKinds.Describe(value.ValueKind))}");
        return null;
    }
}
