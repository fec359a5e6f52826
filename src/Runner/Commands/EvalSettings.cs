using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

/// <summary>Options shared by the benchmark commands of `dromedary eval`.</summary>
internal class EvalSettings : ModelSettings
{
    [CommandOption("--data <PATH>")]
    [Description("The benchmark's data file or folder.")]
    public string Data { get; init; } = "";

    [CommandOption("--protocol <NAME>")]
    [Description("Which protocol to run (see the command's description).")]
    public string? Protocol { get; init; }

    [CommandOption("--limit <N>")]
    [Description("Evaluate only the first N items (HHH: of each category).")]
    public int? Limit { get; init; }

    [CommandOption("--system <FILE>")]
    [Description("Meta prompt file for the method's protocols (ends in a \"### User\" line); default: our verbose prompt.")]
    public string? System { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("Result JSON file (per-item scores and predictions + summary). An interrupted run resumes from FILE.partial.jsonl.")]
    public string Out { get; init; } = "";

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Data)) return ValidationResult.Error("--data <PATH> is required.");
        if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out <FILE> is required.");
        if (Limit is <= 0) return ValidationResult.Error("--limit must be a positive number.");
        return base.Validate();
    }

    /// <summary>What the result file records about the run; resuming needs the same values.</summary>
    public virtual Dictionary<string, string?> Recorded(string benchmark, string protocol) => new()
    {
        ["benchmark"] = benchmark,
        ["model"] = Path.GetFullPath(Model),
        ["adapter"] = Adapter is null ? null : Path.GetFullPath(Adapter),
        ["precision"] = Precision.ToLowerInvariant(),
        ["quantization_group"] = Group.ToString(),
        ["data"] = Path.GetFullPath(Data),
        ["protocol"] = protocol,
        ["limit"] = Limit?.ToString(),
        ["system"] = System is null ? "embedded verbose prompt" : Path.GetFullPath(System),
    };
}
