using System.Text.Json.Nodes;

namespace Dromedary.SelfAlign.Runs;

/// <summary>
/// One line of raw.jsonl: the prompt's id (the key a resumed run skips by), the fields a stage needs to parse the
/// completion again without the model (epoch, query, hints…), and the completion as the engine returned it.
/// </summary>
public sealed record RawCompletion(string Id, IReadOnlyDictionary<string, string> Fields, string Text, string Finish, int Tokens)
{
    public string Field(string name) => Fields.TryGetValue(name, out var value)
        ? value
        : throw new DromedaryException($"raw completion {Id}: missing field \"{name}\".");

    public JsonObject ToJson()
    {
        var fields = new JsonObject();
        foreach (var (name, value) in Fields) fields[name] = value;
        return new JsonObject
        {
            ["id"] = Id,
            ["fields"] = fields,
            ["finish"] = Finish,
            ["tokens"] = Tokens,
            ["completion"] = Text,
        };
    }

    public static RawCompletion FromJson(JsonObject json, string path)
    {
        string Text(JsonNode? node, string name) => node is JsonValue value && value.TryGetValue<string>(out var text)
            ? text
            : throw new DromedaryException($"{path}: a record lacks the string \"{name}\".");
        var id = Text(json["id"], "id");
        var fields = new Dictionary<string, string>();
        if (json["fields"] is JsonObject map)
            foreach (var (name, value) in map) fields[name] = Text(value, $"fields.{name}");
        var tokens = json["tokens"] is JsonValue count && count.TryGetValue<int>(out var n) ? n : 0;
        return new RawCompletion(id, fields, Text(json["completion"], "completion"), Text(json["finish"], "finish"), tokens);
    }
}
