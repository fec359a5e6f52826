using Dromedary.Model.Generation;

namespace Dromedary.SelfAlign.Runs;

/// <summary>
/// Sends a stage's prompts to the engine and appends each completion to raw.jsonl as it arrives, skipping
/// prompts whose id is already there. <see cref="Limit"/> caps the completions of this invocation (a run
/// stopped by it resumes like a killed one). Cancelled, it throws OperationCanceledException; what it appended stays.
/// </summary>
public sealed class CompletionPump(ICompletionEngine engine, JsonlLog raw, int? limit, IProgress<(int Done, int Total)>? progress,
    CancellationToken cancel = default)
{
    private readonly HashSet<string> _done = raw.Existing.Select(json => RawCompletion.FromJson(json, raw.Path).Id).ToHashSet();
    private int _sent;

    public int? Limit => limit;

    /// <summary>True once this invocation has produced as many completions as it may.</summary>
    public bool Exhausted => limit is { } cap && _sent >= cap;

    public bool IsDone(string id) => _done.Contains(id);

    /// <summary>Completes the prompts not yet in raw.jsonl; returns the new raw records in arrival order.</summary>
    /// <param name="progressBase">Work already finished before this batch, for the progress bar (not shown when <paramref name="progressTotal"/> is 0).</param>
    public List<RawCompletion> Run(IReadOnlyList<PendingPrompt> prompts, int progressBase, int progressTotal)
    {
        var todo = prompts.Where(p => !_done.Contains(p.Id)).ToList();
        if (limit is { } cap) todo = todo.Take(Math.Max(0, cap - _sent)).ToList();
        var fields = todo.ToDictionary(p => p.Id, p => p.Fields);
        var results = new List<RawCompletion>();
        var finished = progressBase + prompts.Count - todo.Count;
        var shown = progressTotal > 0 ? progress : null;
        shown?.Report((finished, progressTotal));
        foreach (var completion in engine.Complete(todo.Select(p => p.Request()), cancel))
        {
            var record = new RawCompletion(completion.Id, fields[completion.Id], completion.Text, completion.Finish.ToString(), completion.Tokens.Length);
            raw.Append(record.ToJson());
            _done.Add(record.Id);
            results.Add(record);
            _sent++;
            shown?.Report((++finished, progressTotal));
        }
        return results;
    }
}
