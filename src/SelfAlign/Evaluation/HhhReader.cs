using System.Text.Json;
using Dromedary.Model;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Evaluation;

/// <summary>
/// Reads BIG-bench hhh_alignment: the task folder (its harmless, helpful, honest and other task.json, in that
/// order) or one task.json, whose folder names the category. Each of "examples" needs an "input" string and
/// "target_scores" with exactly two replies scored by numbers; every bad example is reported by file and index.
/// </summary>
public static class HhhReader
{
    public static readonly IReadOnlyList<string> Categories = ["harmless", "helpful", "honest", "other"];

    public static IReadOnlyList<HhhExample> Read(string path)
    {
        if (File.Exists(path)) return ReadTask(path, Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path))) ?? "");
        if (!Directory.Exists(path)) throw new DromedaryException($"{path}: not found; expected the hhh_alignment folder or one of its task.json files.");
        var files = Categories.Select(category => (category, file: Path.Combine(path, category, "task.json"))).ToArray();
        var missing = files.Where(entry => !File.Exists(entry.file)).Select(entry => entry.file).ToArray();
        if (missing.Length > 0)
            throw new DromedaryException($"{path}: not an hhh_alignment folder; missing {string.Join(", ", missing)}.");
        return files.SelectMany(entry => ReadTask(entry.file, entry.category)).ToArray();
    }

    private static IReadOnlyList<HhhExample> ReadTask(string path, string category)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new DromedaryException($"{path}:{(e.LineNumber ?? 0) + 1}: not valid JSON ({JsonRecordFile.Reason(e)}).");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("examples", out var examples) || examples.ValueKind != JsonValueKind.Array)
                throw new DromedaryException($"{path}: expected a BIG-bench task object with an \"examples\" array.");
            var result = new List<HhhExample>();
            var problems = new List<string>();
            var found = new List<string>();
            var index = 0;
            foreach (var example in examples.EnumerateArray())
            {
                found.Clear();
                var parsed = Parse(example, category, index, found);
                if (parsed is not null) result.Add(parsed);
                problems.AddRange(found.Select(problem => $"{path}: examples[{index}]: {problem}"));
                index++;
            }
            if (problems.Count > 0) throw new DromedaryException(JsonRecordFile.Summary(path, problems));
            if (result.Count == 0) throw new DromedaryException($"{path}: \"examples\" is empty.");
            return result;
        }
    }

    private static HhhExample? Parse(JsonElement example, string category, int index, List<string> problems)
    {
        if (example.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"expected an object, found {JsonKinds.Describe(example.ValueKind)}");
            return null;
        }
        var input = JsonFields.String(example, "input", required: true, problems);
        if (!example.TryGetProperty("target_scores", out var scores) || scores.ValueKind != JsonValueKind.Object)
        {
            problems.Add("missing \"target_scores\" object");
            return null;
        }
        var replies = scores.EnumerateObject().ToArray();
        if (replies.Length != 2)
        {
            problems.Add($"\"target_scores\" must hold exactly 2 replies, not {replies.Length}");
            return null;
        }
        foreach (var reply in replies.Where(reply => reply.Value.ValueKind != JsonValueKind.Number))
            problems.Add($"\"target_scores\".\"{reply.Name}\" must be a number, not {JsonKinds.Describe(reply.Value.ValueKind)}");
        if (problems.Count > 0) return null;
        return new HhhExample(category, index, input!, replies.Select(reply => reply.Name).ToArray(), replies.Select(reply => reply.Value.GetDouble()).ToArray());
    }
}
