using System.ComponentModel;
using Dromedary.Model.Generation;
using Dromedary.Model.Llama;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>Options of every command that runs a model on a kernel set: precision, kernels, threads, the batched engine's sizes.</summary>
internal class RuntimeSettings : CommandSettings
{
    [CommandOption("--precision <PRECISION>")]
    [Description("int8 (default: int8 weights, fp32 scales) or fp32 (exact).")]
    [DefaultValue("int8")]
    public string Precision { get; init; } = "int8";

    [CommandOption("--kernels <NAME>")]
    [Description("Kernel set to run on (see 'dromedary info'); default: the best for this machine.")]
    public string? Kernels { get; init; }

    [CommandOption("--threads <N>")]
    [Description("Worker threads; default: all cores.")]
    public int? Threads { get; init; }

    [CommandOption("--max-sequences <N>")]
    [Description("Batched engine (generate --prompts, the stages, eval): sequences decoded together.")]
    [DefaultValue(16)]
    public int MaxSequences { get; init; } = 16;

    [CommandOption("--kv-blocks <N>")]
    [Description("Batched engine: KV cache blocks of 16 positions (shared prefixes count once); 0 = a full context per sequence. 'dromedary plan' shows the bytes.")]
    [DefaultValue(0)]
    public int KvBlocks { get; init; }

    /// <summary>The batched engine these options ask for.</summary>
    public EngineOptions Engine => new() { MaxSequences = MaxSequences, KvBlocks = KvBlocks };

    public Precision ParsedPrecision => Precision.ToLowerInvariant() switch
    {
        "int8" => Dromedary.Model.Llama.Precision.Int8,
        "fp32" => Dromedary.Model.Llama.Precision.Fp32,
        _ => throw new DromedaryException($"--precision must be int8 or fp32, not '{Precision}'."),
    };
}
