using System.Text.Json;
using Dromedary.Model.Generation;

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
    public static void Run(IReadOnlyList<PromptRecord> pending, JsonLinesWriter output, ICompletionEngine engine, GenerationOptions options,
        IProgress<(int Done, int Total)> progress, CancellationToken cancel = default)
    {
        var byId = pending.ToDictionary(prompt => prompt.Id);
        var requests = pending.Select(prompt => new CompletionRequest(prompt.Id, prompt.Prompt,
            options with { Sampling = options.Sampling with { Seed = RequestSeed.For(options.Sampling.Seed, prompt.Id) } }));
        var written = 0;
        progress.Report((0, pending.Count));
        foreach (var completion in engine.Complete(requests, cancel))
        {
            output.Write(writer => WriteRecord(writer, byId[completion.Id].Fields, completion));
            progress.Report((++written, pending.Count));
        }
    }

    /// <summary>How a finish reason is written: "end_of_sequence", "stop_string", "max_tokens", "context_full".</summary>
    public static string FinishName(FinishReason finish) => JsonNamingPolicy.SnakeCaseLower.ConvertName(finish.ToString());

    private static void WriteRecord(Utf8JsonWriter writer, JsonElement fields, Completion completion)
    {
        writer.WriteStartObject();
        foreach (var field in fields.EnumerateObject())
            if (field.Name is not (CompletionField or FinishField or TokensField)) field.WriteTo(writer);
        writer.WriteString(CompletionField, completion.Text);
        writer.WriteString(FinishField, FinishName(completion.Finish));
        writer.WriteNumber(TokensField, completion.Tokens.Length);
        writer.WriteEndObject();
    }
}
