using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Dromedary.Model.Safetensors;
using Dromedary.SelfAlign.Runs;
using Dromedary.SelfAlign.VerboseCloning;
using Dromedary.Training.Metrics;
using Dromedary.Training.Trainer;

namespace Dromedary.SelfAlign.Align;

/// <summary>
/// RUN/report.md and RUN/report.html (the same text; the HTML inlines the loss curves): per stage what it did, the
/// items in and records kept, the count of each filter rule from stats.json, three sample records, the loss curves
/// with final loss and steps, the time taken, and how to chat with the final adapter.
/// </summary>
public static class AlignReport
{
    public const string MarkdownFile = "report.md";
    public const string HtmlFile = "report.html";
    private const int Samples = 3;
    private const int SampleLength = 240;

    public static string MarkdownPath(string runDirectory) => Path.Combine(runDirectory, MarkdownFile);

    /// <summary>Writes both files (atomically) from what the run folder holds; returns the Markdown's path.</summary>
    public static string Write(AlignRequest request)
    {
        var blocks = Blocks(request);
        var markdown = new StringBuilder();
        var html = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Dromedary align report</title>\n" +
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}table{border-collapse:collapse}" +
            "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}pre{background:#f4f4f4;padding:.5em}</style>\n</head><body>\n");
        foreach (var block in blocks)
        {
            block.Markdown(markdown);
            block.Html(html);
        }
        html.Append("</body></html>\n");
        var path = MarkdownPath(request.RunDirectory);
        AtomicFile.Write(path, Encoding.UTF8.GetBytes(markdown.ToString()));
        AtomicFile.Write(Path.Combine(request.RunDirectory, HtmlFile), Encoding.UTF8.GetBytes(html.ToString()));
        return path;
    }

    private static List<ReportBlock> Blocks(AlignRequest request)
    {
        var run = request.RunDirectory;
        var markers = AlignStage.All.ToDictionary(s => s, s => StageMarker.Read(s.Path(run)));
        List<ReportBlock> blocks =
        [
            new ReportHeading("Dromedary align run", 1),
            new ReportParagraph($"Base model {Path.GetFullPath(request.Base)}, seed {request.Seed}, precision {request.Precision}. " +
                                "Every parameter is in run.json; each stage's files are in its folder below."),
            new ReportTable(["stage", "what it does", "in", "kept", "time"], AlignStage.All.Select(stage => markers[stage] is { } m
                ? new[] { $"{stage.Id} {stage.Name}", stage.Purpose, Count(m.In), Count(m.Kept), Duration(m.Seconds) }
                : [$"{stage.Id} {stage.Name}", stage.Purpose, "", "", "not finished"]).ToList()),
        ];
        foreach (var stage in AlignStage.All) blocks.AddRange(StageBlocks(stage, run, markers[stage]));
        blocks.Add(new ReportHeading("The result", 2));
        if (markers[AlignStage.VerboseClone] is not null)
        {
            blocks.Add(new ReportParagraph($"The final adapter is in {Path.GetFullPath(request.Final)}. Talk to it:"));
            blocks.Add(new ReportCode($"dromedary chat --model {Path.GetFullPath(request.Base)} --adapter {Path.GetFullPath(request.Final)}"));
        }
        else blocks.Add(new ReportParagraph("The run is not finished; run the same align command again to continue it."));
        return blocks;
    }

    private static IEnumerable<ReportBlock> StageBlocks(AlignStage stage, string run, StageMarker? marker)
    {
        var folder = stage.Path(run);
        yield return new ReportHeading($"Stage {stage.Id}: {stage.Name}", 2);
        yield return new ReportParagraph(marker is null
            ? $"{Capital(stage.Purpose)}. Not finished yet."
            : $"{Capital(stage.Purpose)}. {Count(marker.In)} in, {Count(marker.Kept)} kept, in {Duration(marker.Seconds)}. Folder: {stage.Folder}/.");
        var stats = Path.Combine(folder, "stats.json");
        if (File.Exists(stats) && JsonNode.Parse(File.ReadAllText(stats)) is JsonObject counts && counts.Count > 0)
            yield return new ReportTable(["rule or count", "records"], counts.Select(c => new[] { c.Key, c.Value?.ToJsonString() ?? "" }).ToList());
        var kept = Path.Combine(folder, "kept.jsonl");
        if (stage != AlignStage.Engrave && File.Exists(kept))
        {
            var samples = RunFolder.ReadJsonl(kept).Take(Samples).Select(Sample).ToList();
            if (samples.Count > 0) yield return new ReportTable(["sample", "record"], samples.Select((s, i) => new[] { (i + 1).ToString(CultureInfo.InvariantCulture), s }).ToList());
        }
        var training = stage == AlignStage.Engrave ? folder : stage == AlignStage.VerboseClone ? Path.Combine(folder, VerboseCloneRun.AdapterFolder) : null;
        if (training is not null && File.Exists(Path.Combine(training, LoraTrainer.MetricsFileName)))
        {
            var steps = MetricsLog.Read(Path.Combine(training, LoraTrainer.MetricsFileName));
            var last = steps.LastOrDefault(s => double.IsFinite(s.Loss));
            yield return new ReportParagraph(last is null ? "Training has logged no step yet." : string.Create(CultureInfo.InvariantCulture,
                $"Training: {steps.Count} steps, final loss {last.Loss:F4} (first {steps.First(s => double.IsFinite(s.Loss)).Loss:F4})."));
            var plot = Path.Combine(training, LoraTrainer.PlotFileName);
            if (File.Exists(plot)) yield return new ReportPicture(plot, Path.GetRelativePath(run, plot), $"stage {stage.Id} training loss");
        }
    }

    /// <summary>A record in one line: "instruction (input) → answer", or "type: topic", shortened.</summary>
    private static string Sample(JsonObject record)
    {
        string Field(string name) => record[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : "";
        var instruction = Field("instruction");
        var text = instruction.Length == 0
            ? $"{Field("question_type")}: {Field("topic")}"
            : instruction + (Field("input").Length > 0 ? $" [input: {Field("input")}]" : "") + (Field("output").Length > 0 ? $" → {Field("output")}" : "");
        text = string.Join(' ', text.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));
        return text.Length <= SampleLength ? text : text[..SampleLength] + "…";
    }

    private static string Count(int n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Duration(double seconds) => seconds < 90
        ? string.Create(CultureInfo.InvariantCulture, $"{seconds:F0} s")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:F1} min");

    private static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
