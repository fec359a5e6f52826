using System.ComponentModel;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Planning;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Dromedary.Runner.Commands;

internal sealed class PlanCommand : Command<PlanCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandOption("--model <DIR|PRESET>")]
        [Description("A model folder (only its config.json is read) or a preset: llama-7b, llama-13b, llama-30b, llama-65b, llama-2-7b, llama-2-13b, llama-2-70b.")]
        public string Model { get; init; } = "";

        [CommandOption("--precision <PRECISION>")]
        [Description("int8 (default) or fp32 weights.")]
        [DefaultValue("int8")]
        public string Precision { get; init; } = "int8";

        [CommandOption("--group <SIZE>")]
        [Description("int8 group size; 0 = one scale per row.")]
        [DefaultValue(0)]
        public int Group { get; init; }

        [CommandOption("--batch <B>")]
        [Description("Sequences held at once.")]
        [DefaultValue(1)]
        public int Batch { get; init; } = 1;

        [CommandOption("--context <T>")]
        [Description("Positions per sequence (prompt + generated).")]
        [DefaultValue(2048)]
        public int Context { get; init; } = 2048;

        [CommandOption("--kernels <NAME>")]
        [Description("Kernel set whose memory layout to plan for; default: the best for this machine.")]
        public string? Kernels { get; init; }

        [CommandOption("--device-memory <SIZE>")]
        [Description("Memory to fit in, e.g. 141GB; the command fails when the plan does not fit.")]
        public string? DeviceMemory { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("--model <DIR|PRESET> is required.")
            : Batch < 1 || Context < 1 ? ValidationResult.Error("--batch and --context must be at least 1.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var config = ModelPresets.Resolve(settings.Model);
        var precision = new ModelSettings { Model = settings.Model, Precision = settings.Precision }.ParsedPrecision;
        using var kernels = KernelRegistry.Create(settings.Kernels, 1);
        var plan = InferencePlanner.Plan(config, kernels, precision, settings.Group, settings.Batch, settings.Context, Dromedary.Model.Llama.LlamaSession.DefaultChunk);

        var table = new Table().AddColumns("category", "item", "size");
        foreach (var item in plan.Items) table.AddRow(item.Category, Markup.Escape(item.Name), MemoryPlan.Format(item.Bytes));
        table.AddRow("[bold]total[/]", "", $"[bold]{MemoryPlan.Format(plan.Total)}[/]");
        AnsiConsole.MarkupLineInterpolated($"{settings.Model}: {config.Layers} layers, dim {config.HiddenSize}, ffn {config.IntermediateSize}, vocab {config.VocabSize}; kernels {kernels.Name}");
        AnsiConsole.Write(table);
        if (settings.DeviceMemory is { } memory)
        {
            plan.EnsureFits(MemoryPlan.ParseSize(memory), $"--device-memory {memory}");
            AnsiConsole.MarkupLineInterpolated($"fits in {memory} with {MemoryPlan.Format(MemoryPlan.ParseSize(memory) - plan.Total)} to spare");
        }
        return 0;
    }
}
