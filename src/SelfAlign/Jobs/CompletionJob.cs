using System.Text.Json;
using System.Text.Json.Nodes;
using Dromedary.Model.Generation;
using Dromedary.SelfAlign.Runs;

namespace Dromedary.SelfAlign.Jobs;

/// <summary>
/// Completes a prompts file into an output file, resumably: each output record is its input record's fields plus
/// "completion", "finish_reason" and "completion_tokens" (input fields of those names are replaced), appended as
/// soon as its completion finishes. A request samples with <see cref="RequestSeed"/> of its id, so the text of an
/// id does not depend on which run makes it or on the order of the file.
/// </summary>
public static class CompletionJob
{
    public const string CompletionField = "completion";
    public const string FinishField = "finish_reason";
    public const string TokensField = "completion_tokens";

    /// <summary>The prompts whose ids are not yet done, in file order.</summary>
    public static IReadOnlyList<PromptRecord> Pending(IReadOnlyList<PromptRecord> prompts, IReadOnlySet<string> done) =>
        prompts.Where(prompt => !done.Contains(prompt.Id)).ToArray();

    /// <summary>Completes <paramref name="pending"/> and appends one record per completion; progress counts records written.</summary>
    public static void Run(IReadOnlyList<PromptRecord> pending, JsonlLog output, ICompletionEngine engine, GenerationOptions options,
        IProgress<(int Done, int Total)> progress, CancellationToken cancel = default)
    {
        var byId = pending.ToDictionary(prompt => prompt.Id);
        var requests = pending.Select(prompt => new CompletionRequest(prompt.Id, prompt.Prompt,
            options with { Sampling = options.Sampling with { Seed = RequestSeed.For(options.Sampling.Seed, prompt.Id) } }));
        var written = 0;
        progress.Report((0, pending.Count));
        foreach (var completion in engine.Complete(requests, cancel))
        {
            output.Append(Record(byId[completion.Id].Fields, completion));
            progress.Report((++written, pending.Count));
        }
    }

    /// <summary>How a finish reason is written: "end_of_sequence", "stop_string", "max_tokens", "context_full".</summary>
    public static string FinishName(FinishReason finish) => JsonNamingPolicy.SnakeCaseLower.ConvertName(finish.ToString());

    private static JsonObject Record(JsonElement fields, Completion completion)
    {
        var record = new JsonObject();
        foreach (var field in fields.EnumerateObject())
            if (field.Name is not (CompletionField or FinishField or TokensField)) record[field.Name] = JsonNode.Parse(field.Value.GetRawText());
        record[CompletionField] = completion.Text;
        record[FinishField] = FinishName(completion.Finish);
        record[TokensField] = completion.Tokens.Length;
        return record;
    }
}
