using System.Text.Json;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Tgrt;

/// <summary>A topic of a question type (the type keeps its seed wording, "Questions that require …").</summary>
public sealed record TypedTopic(string Topic, string QuestionType)
{
    /// <summary>Reads topics, JSON lines of {"topic", "question_type"} (tgrt-topics' kept.jsonl).</summary>
    public static IReadOnlyList<TypedTopic> Read(string path) =>
        JsonRecordFile.Read(path, allowArray: true, "topics", Parse);

    private static TypedTopic? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        var topic = JsonFields.String(record, "topic", required: true, problems);
        var type = JsonFields.String(record, "question_type", required: true, problems);
        return problems.Count == before ? new TypedTopic(topic!, type!) : null;
    }
}
