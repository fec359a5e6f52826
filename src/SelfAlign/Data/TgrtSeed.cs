using System.Text.Json;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Data;

/// <summary>One TGRT seed (METHOD.md §2.1): a question type ("Questions that require …"), a topic, and a question of that type on that topic.</summary>
public sealed record TgrtSeed(string Topic, string QuestionType, string Question)
{
    public static IReadOnlyList<TgrtSeed> Read(string path) =>
        JsonRecordFile.Read(path, allowArray: false, "TGRT seed questions", Parse);

    public static IReadOnlyList<TgrtSeed> Read(Stream stream, string source) =>
        JsonRecordFile.Read(stream, source, allowArray: false, "TGRT seed questions", Parse);

    private static TgrtSeed? Parse(JsonElement record, List<string> problems)
    {
        var before = problems.Count;
        var topic = JsonFields.String(record, "topic", required: true, problems);
        var type = JsonFields.String(record, "question_type", required: true, problems);
        var question = JsonFields.String(record, "question", required: true, problems);
        return problems.Count == before ? new TgrtSeed(topic!, type!, question!) : null;
    }
}
