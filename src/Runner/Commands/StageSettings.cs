using System.ComponentModel;
using Dromedary.SelfAlign.Runs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>Options shared by the stage commands (self-instruct, tgrt-topics, tgrt-questions, self-align).</summary>
internal class StageSettings : ModelSettings
{
    [CommandOption("--out <DIR>")]
    [Description("Run directory: raw.jsonl, kept.jsonl, stats.json, run.json (in shard-i-of-N/ when sharded). Rerun to resume.")]
    public string Out { get; init; } = "";

    [CommandOption("--shard <I/N>")]
    [Description("Run shard I of N (0-based): every N-th item from I, seed + I·128. Join with merge-shards.")]
    [DefaultValue("0/1")]
    public string Shard { get; init; } = "0/1";

    [CommandOption("--seed <N>")]
    [Description("Base random seed (the original's 42).")]
    [DefaultValue(42)]
    public int Seed { get; init; } = 42;

    [CommandOption("--filter-only")]
    [Description("No model: re-derive kept.jsonl and stats.json from raw.jsonl.")]
    public bool FilterOnly { get; init; }

    [CommandOption("--limit <N>")]
    [Description("Stop after N new completions (rerun to continue).")]
    public int? Limit { get; init; }

    [CommandOption("--temperature <T>")]
    [Description("Sampling temperature; default: the original's for this stage.")]
    public float? Temperature { get; init; }

    [CommandOption("--top-p <P>")]
    [Description("Nucleus sampling mass; default: the original's for this stage.")]
    public float? TopP { get; init; }

    [CommandOption("--max-new-tokens <N>")]
    [Description("Most tokens per completion; default: the original's for this stage.")]
    public int? MaxNewTokens { get; init; }

    public ShardSpec ParsedShard => ShardSpec.Parse(Shard);

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out <DIR> is required.")
        : Limit is < 0 ? ValidationResult.Error("--limit must not be negative.")
        : MaxNewTokens is < 1 ? ValidationResult.Error("--max-new-tokens must be at least 1.")
        : FilterOnly ? ValidationResult.Success()
        : base.Validate();
}
