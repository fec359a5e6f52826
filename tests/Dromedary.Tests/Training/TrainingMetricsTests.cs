using System.Text.Json;
using System.Xml.Linq;
using Dromedary.Training.Metrics;
using Xunit;

namespace Dromedary.Tests.Training;

/// <summary>metrics.jsonl lines, resuming without duplicate steps, and the SVG loss plot.</summary>
public sealed class TrainingMetricsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static StepMetrics Metrics(int step, double loss = 2.5) => new(step, loss, 4e-4, 0.75, 1234, 56.5, step * 2.0);

    /// <summary>Reads the file while the log still holds it open, as a person tailing it would.</summary>
    private static string[] Lines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void Each_step_is_one_flushed_json_line()
    {
        var path = _dir["run/metrics.jsonl"];
        using var log = new MetricsLog(path);
        log.Append(Metrics(1));
        var line = Assert.Single(Lines(path));
        using var document = JsonDocument.Parse(line);
        var names = document.RootElement.EnumerateObject().Select(p => p.Name);
        Assert.Equal(["step", "loss", "lr", "grad_norm", "tokens", "tokens_per_second", "elapsed"], names);
        Assert.Equal(4e-4, document.RootElement.GetProperty("lr").GetDouble());
        log.Append(Metrics(2, double.NaN));
        Assert.Equal(2, Lines(path).Length);
    }

    [Fact]
    public void A_resumed_log_drops_the_steps_it_will_redo()
    {
        var path = _dir["metrics.jsonl"];
        using (var log = new MetricsLog(path))
            for (var step = 0; step < 5; step++) log.Append(Metrics(step));
        using (var resumed = new MetricsLog(path, firstStep: 3)) resumed.Append(Metrics(3, 1.5));
        var steps = MetricsLog.Read(path);
        Assert.Equal([0, 1, 2, 3], steps.Select(s => s.Step));
        Assert.Equal(1.5, steps[^1].Loss);
        using (new MetricsLog(path)) { }
        Assert.Empty(MetricsLog.Read(path));
    }

    [Fact]
    public void Reading_skips_a_torn_last_line_and_rejects_other_bad_lines()
    {
        var good = JsonSerializer.Serialize(Metrics(0));
        var torn = _dir["torn.jsonl"];
        File.WriteAllText(torn, good + "\n" + good[..10]);
        Assert.Single(MetricsLog.Read(torn));
        var bad = _dir["bad.jsonl"];
        File.WriteAllText(bad, good + "\n{\"step\": 1}\n" + good + "\n");
        Assert.StartsWith($"{bad}:2: not a metrics line", Assert.Throws<DromedaryException>(() => MetricsLog.Read(bad)).Message);
    }

    [Fact]
    public void Non_finite_losses_round_trip()
    {
        var path = _dir["nan.jsonl"];
        using (var log = new MetricsLog(path)) log.Append(Metrics(0, double.PositiveInfinity));
        Assert.Equal(double.PositiveInfinity, Assert.Single(MetricsLog.Read(path)).Loss);
    }

    [Fact]
    public void The_loss_plot_is_an_svg_with_axes_labels_and_both_lines()
    {
        var random = new Random(3);
        var steps = Enumerable.Range(1, 300)
            .Select(step => Metrics(step, 0.8 + 2.0 * Math.Exp(-step / 60.0) + 0.15 * (random.NextDouble() - 0.5)))
            .Append(Metrics(301, double.NaN))
            .ToArray();
        var path = _dir["loss.svg"];
        LossPlot.Write(path, steps);
        var svg = XDocument.Load(path).Root!;
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Name);
        var lines = svg.Elements(ns + "polyline").Select(p => p.Attribute("points")!.Value.Split(' ')).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Equal(300, lines[1].Length);
        Assert.Equal(300, lines[2].Length);
        var texts = svg.Elements(ns + "text").Select(t => t.Value).ToArray();
        Assert.Contains("optimizer step", texts);
        Assert.Contains("loss", texts);
        Assert.Contains("Training loss", texts);
        Assert.Contains("300", texts);
        Assert.DoesNotContain(texts, text => text.Contains("NaN"));
    }

    [Fact]
    public void A_plot_of_one_step_or_none_still_renders()
    {
        Assert.NotNull(XDocument.Parse(LossPlot.Render([Metrics(0)])));
        Assert.Contains("no finite loss yet", LossPlot.Render([]));
    }
}
