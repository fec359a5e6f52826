using System.Text.Json.Nodes;
using Dromedary.Model.Generation;

namespace Dromedary.SelfAlign.Runs;

/// <summary>
/// What every stage command shares: where it writes, which shard it is, its seed, and how it runs — with an
/// engine, or (<see cref="Engine"/> null) as --filter-only, re-deriving kept.jsonl and stats.json from raw.jsonl.
/// </summary>
public sealed record StageContext(string RunDirectory, ShardSpec Shard, int Seed, ICompletionEngine? Engine, int? Limit,
    IProgress<(int Done, int Total)>? Progress)
{
    public RunFolder Folder => RunFolder.For(RunDirectory, Shard);

    /// <summary>This shard's seed: seed + shard·128, as the original's groups.</summary>
    public int ShardSeed => Shard.Seed(Seed);

    public bool FilterOnly => Engine is null;

    /// <summary>Stops the engine; the completions already appended to raw.jsonl stay, and a rerun resumes after them.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>The raw completions so far for --filter-only, or the log to resume and append to.</summary>
    public JsonlLog? OpenLog() => FilterOnly ? null : JsonlLog.Open(Folder.Raw);

    public CompletionPump Pump(JsonlLog log) => new(Engine!, log, Limit, Progress, Cancellation);

    /// <summary>
    /// For a stage whose prompts are all known up front: completes those not yet in raw.jsonl (or, with
    /// --filter-only, reads raw.jsonl) and returns every completion of the run, and whether all prompts have one.
    /// </summary>
    public (List<RawCompletion> Raw, bool Complete) CompleteAll(JsonObject parameters, IReadOnlyList<PendingPrompt> prompts)
    {
        if (FilterOnly) return (Folder.ReadRaw(), true);
        using var log = JsonlLog.Open(Folder.Raw);
        Folder.Claim(parameters);
        var pump = Pump(log);
        List<RawCompletion> raw = [.. log.Existing.Select(json => RawCompletion.FromJson(json, log.Path)), .. pump.Run(prompts, 0, prompts.Count)];
        return (raw, prompts.All(p => pump.IsDone(p.Id)));
    }
}

/// <summary>What a stage run did: whether it reached its goal (false when --limit stopped it) and the counts it wrote.</summary>
public sealed record StageSummary(bool Complete, int Completions, int Kept, FilterStats Stats, string Folder);
