using System.Globalization;
using System.Text.Json.Nodes;
using Dromedary.SelfAlign.Runs;
using Dromedary.SelfAlign.Text;

namespace Dromedary.SelfAlign.SelfInstruct;

/// <summary>
/// Stage 1a, vanilla Self-Instruct (METHOD.md §2.2). Prompt i samples its demonstrations from the seed tasks with a
/// random stream of (shard seed, i) and is sampled with a seed of its own, so it is the same prompt however often
/// the run is resumed. Completions are post-processed strictly in prompt order — the novelty pool (seed tasks +
/// instructions kept so far in this shard) grows as they are kept — and rounds of <see
/// cref="SelfInstructOptions.BatchSize"/> prompts run until the shard has kept its target.
/// </summary>
public static class SelfInstructStage
{
    public const string SimilarRule = "similar_rouge_l";

    public static StageSummary Run(SelfInstructOptions options, StageContext context)
    {
        var folder = context.Folder;
        var state = new State(options, context.ShardSeed);
        using var log = context.OpenLog();
        var pending = (log is null ? folder.ReadRaw() : log.Existing.Select(json => RawCompletion.FromJson(json, log.Path)))
            .ToDictionary(IndexOf);
        if (log is null)
        {
            foreach (var index in pending.Keys.Order()) state.Process(pending[index]);
            return state.Save(folder, complete: state.Kept.Count >= options.Target || pending.Count >= options.MaxPrompts);
        }

        folder.Claim(options.Parameters(context.ShardSeed));
        var pump = context.Pump(log);
        var next = 0;
        // Replay the finished prefix, exactly as the first run processed it.
        while (pending.Remove(next, out var done))
        {
            state.Process(done);
            next++;
        }
        while (true)
        {
            var roundStart = next - next % options.BatchSize;
            var end = Math.Min(roundStart + options.BatchSize, options.MaxPrompts ?? int.MaxValue);
            if ((next == roundStart && state.Kept.Count >= options.Target) || next >= end) return state.Save(folder, complete: true);
            if (pump.Exhausted) return state.Save(folder, complete: false);
            var round = Enumerable.Range(roundStart, end - roundStart).Select(i => state.Prompt(i)).ToList();
            // The bar counts kept instructions, which move once per round; the pump's per-completion count is not shown.
            foreach (var fresh in pump.Run(round, 0, 0)) pending[IndexOf(fresh)] = fresh;
            while (pending.Remove(next, out var ready))
            {
                state.Process(ready);
                next++;
            }
            if (next < end && !pump.Exhausted) throw new InvalidOperationException($"the engine returned no completion for si-{next}.");
            context.Progress?.Report((Math.Min(state.Kept.Count, options.Target), options.Target));
        }
    }

    private static int IndexOf(RawCompletion raw) =>
        int.TryParse(raw.Field("index"), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            ? index
            : throw new DromedaryException($"raw completion {raw.Id}: \"index\" must be a whole number.");

    private sealed class State
    {
        private readonly SelfInstructOptions _options;
        private readonly int _seed;
        private readonly NoveltyPool _pool = new();
        private int _completions;

        public State(SelfInstructOptions options, int seed)
        {
            _options = options;
            _seed = seed;
            foreach (var task in options.SeedTasks) _pool.Add(task.Instruction);
        }

        public List<JsonObject> Kept { get; } = [];
        public FilterStats Stats { get; } = new();

        public PendingPrompt Prompt(int index)
        {
            var demonstrations = Seeds.Sample(Seeds.Random(_seed, index), _options.SeedTasks, _options.Demonstrations);
            return new PendingPrompt($"si-{index}", new Dictionary<string, string> { ["index"] = index.ToString(CultureInfo.InvariantCulture) },
                () => SelfInstructPrompt.Build(_options.MetaPrompt, demonstrations),
                StageSampling.Options(_options.MaxNewTokens, _options.Temperature, _options.TopP, Seeds.For(_seed, index, stream: 1), _options.EosId));
        }

        public void Process(RawCompletion raw)
        {
            _completions++;
            Stats.Add("completions");
            foreach (var task in InstructionParser.Parse(raw.Text, _options.Demonstrations, Stats))
            {
                var verdict = _pool.Judge(task.Instruction, _options.SimilarityThreshold);
                if (!verdict.Novel)
                {
                    Stats.Add(SimilarRule);
                    continue;
                }
                _pool.Add(verdict.Tokens);
                Kept.Add(new JsonObject
                {
                    ["id"] = $"{raw.Id}-{Kept.Count}",
                    ["instruction"] = task.Instruction,
                    ["input"] = task.Input,
                    ["output"] = "",
                    ["avg_similarity_score"] = verdict.MeanScore,
                });
            }
        }

        public StageSummary Save(RunFolder folder, bool complete)
        {
            Stats.Set("kept", Kept.Count);
            folder.WriteResults(Kept, Stats);
            return new StageSummary(complete, _completions, Kept.Count, Stats, folder.Path);
        }
    }
}
