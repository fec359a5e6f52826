using System.ComponentModel;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Lora;
using Dromedary.Model.Planning;
using Dromedary.Training.Planning;
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

        [CommandOption("--train")]
        [Description("Plan a LoRA training step instead of inference.")]
        public bool Train { get; init; }

        [CommandOption("--lora-r <R>")]
        [Description("With --train: LoRA rank.")]
        [DefaultValue(16)]
        public int LoraRank { get; init; } = 16;

        [CommandOption("--targets <LIST>")]
        [Description("With --train: adapted projections, comma-separated (q, k, v, o, gate, up, down).")]
        [DefaultValue("q,k,v,o")]
        public string Targets { get; init; } = "q,k,v,o";

        [CommandOption("--micro-batch <N|auto>")]
        [Description("With --train: sequences per micro-batch, or auto for the largest power of two that fits --device-memory.")]
        [DefaultValue("1")]
        public string MicroBatch { get; init; } = "1";

        [CommandOption("--cutoff <T>")]
        [Description("With --train: tokens per training sequence.")]
        [DefaultValue(512)]
        public int Cutoff { get; init; } = 512;

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("--model <DIR|PRESET> is required.")
            : Batch < 1 || Context < 1 ? ValidationResult.Error("--batch and --context must be at least 1.")
            : MicroBatch == "auto" && DeviceMemory == null ? ValidationResult.Error("--micro-batch auto needs --device-memory.")
            : MicroBatch != "auto" && !(int.TryParse(MicroBatch, out var n) && n >= 1) ? ValidationResult.Error("--micro-batch must be a number ≥ 1 or auto.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var config = ModelPresets.Resolve(settings.Model);
        var precision = new ModelSettings { Model = settings.Model, Precision = settings.Precision }.ParsedPrecision;
        using var kernels = KernelRegistry.Create(settings.Kernels, 1);
        long? available = settings.DeviceMemory is { } memory ? MemoryPlan.ParseSize(memory) : null;
        var where = $"--device-memory {settings.DeviceMemory}";
        MemoryPlan plan;
        string? trainingLine = null;
        if (settings.Train)
        {
            var options = new TrainingPlanOptions(precision, settings.Group, new LoraConfig { Rank = settings.LoraRank, Targets = ParseTargets(settings.Targets) },
                settings.MicroBatch == "auto" ? 1 : int.Parse(settings.MicroBatch, System.Globalization.CultureInfo.InvariantCulture), settings.Cutoff);
            var microBatch = options.MicroBatch;
            plan = TrainingPlanner.Plan(config, kernels, options);
            // When even one sequence does not fit, the table below shows that plan before the error.
            if (settings.MicroBatch == "auto" && plan.Total <= available)
                (microBatch, plan) = TrainingPlanner.ChooseMicroBatch(config, kernels, options, available.Value, where);
            var chosen = settings.MicroBatch != "auto" ? "" : plan.Total <= available ? " (the largest power of two that fits)" : " (does not fit)";
            trainingLine = $"LoRA training step: micro-batch {microBatch}{chosen} × {settings.Cutoff} tokens";
        }
        else plan = InferencePlanner.Plan(config, kernels, precision, settings.Group, settings.Batch, settings.Context, Dromedary.Model.Llama.LlamaSession.DefaultChunk);

        var table = new Table().AddColumns("category", "item", "size");
        foreach (var item in plan.Items) table.AddRow(item.Category, Markup.Escape(item.Name), MemoryPlan.Format(item.Bytes));
        table.AddRow("[bold]total[/]", "", $"[bold]{MemoryPlan.Format(plan.Total)}[/]");
        AnsiConsole.MarkupLineInterpolated($"{settings.Model}: {config.Layers} layers, dim {config.HiddenSize}, ffn {config.IntermediateSize}, vocab {config.VocabSize}; kernels {kernels.Name}");
        if (trainingLine != null) AnsiConsole.MarkupLineInterpolated($"{trainingLine}");
        AnsiConsole.Write(table);
        if (available is { } bytes)
        {
            plan.EnsureFits(bytes, where);
            AnsiConsole.MarkupLineInterpolated($"fits in {settings.DeviceMemory} with {MemoryPlan.Format(bytes - plan.Total)} to spare");
        }
        return 0;
    }

    private static LoraTarget[] ParseTargets(string list) =>
        list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(name =>
            LoraTargets.TryParse(name, out var target) ? target
            : throw new DromedaryException($"--targets: '{name}' is not a projection; use q, k, v, o, gate, up, down.")).ToArray();
}
