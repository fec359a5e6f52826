using System.Globalization;
using System.Text;

namespace Dromedary.Training.Metrics;

/// <summary>
/// The loss curve as a standalone SVG a browser opens: the raw loss per step, a smoothed line through it, axes with
/// round-number ticks, grid and labels. Steps whose loss is not finite are left out of both lines.
/// </summary>
public static class LossPlot
{
    private const double Width = 800, Height = 480;
    private const double Left = 72, Right = 24, Top = 48, Bottom = 60;

    /// <summary>Weight of the past in the smoothed line, TensorBoard's default.</summary>
    private const double Smoothing = 0.9;

    /// <summary>Runs this short also mark each step with a dot.</summary>
    private const int MaxMarkers = 60;

    public static void Write(string path, IReadOnlyList<StepMetrics> steps, string title = "Training loss") =>
        File.WriteAllText(path, Render(steps, title));

    public static string Render(IReadOnlyList<StepMetrics> steps, string title = "Training loss")
    {
        var points = steps.Where(s => double.IsFinite(s.Loss)).Select(s => (X: (double)s.Step, Y: s.Loss)).ToArray();
        var (xLow, xHigh) = Range(points.Select(p => p.X), pad: 0);
        var (yLow, yHigh) = Range(points.Select(p => p.Y), pad: 0.05);
        double PlotX(double x) => Left + (x - xLow) / (xHigh - xLow) * (Width - Left - Right);
        double PlotY(double y) => Height - Bottom - (y - yLow) / (yHigh - yLow) * (Height - Top - Bottom);

        var svg = new StringBuilder();
        svg.AppendLine(Invariant($"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" viewBox="0 0 {Width} {Height}" font-family="sans-serif" font-size="12">"""));
        svg.AppendLine(Invariant($"""<rect width="{Width}" height="{Height}" fill="white"/>"""));
        svg.AppendLine(Invariant($"""<text x="{Width / 2}" y="28" text-anchor="middle" font-size="16">{Escape(title)}</text>"""));
        // Steps are whole numbers, so their ticks are at least 1 apart.
        var xStep = Math.Max(1, TickStep(xHigh - xLow));
        foreach (var tick in Ticks(xLow, xHigh, xStep))
        {
            var x = PlotX(tick);
            svg.AppendLine(Invariant($"""<line x1="{x:0.##}" y1="{Top}" x2="{x:0.##}" y2="{Height - Bottom}" stroke="#e5e5e5"/>"""));
            svg.AppendLine(Invariant($"""<text x="{x:0.##}" y="{Height - Bottom + 18}" text-anchor="middle">{Label(tick, xStep)}</text>"""));
        }
        var yStep = TickStep(yHigh - yLow);
        foreach (var tick in Ticks(yLow, yHigh, yStep))
        {
            var y = PlotY(tick);
            svg.AppendLine(Invariant($"""<line x1="{Left}" y1="{y:0.##}" x2="{Width - Right}" y2="{y:0.##}" stroke="#e5e5e5"/>"""));
            svg.AppendLine(Invariant($"""<text x="{Left - 8}" y="{y + 4:0.##}" text-anchor="end">{Label(tick, yStep)}</text>"""));
        }
        svg.AppendLine(Invariant($"""<polyline points="{Left},{Top} {Left},{Height - Bottom} {Width - Right},{Height - Bottom}" fill="none" stroke="black"/>"""));
        svg.AppendLine(Invariant($"""<text x="{(Left + Width - Right) / 2}" y="{Height - 16}" text-anchor="middle">optimizer step</text>"""));
        svg.AppendLine(Invariant($"""<text transform="translate(20 {(Top + Height - Bottom) / 2}) rotate(-90)" text-anchor="middle">loss</text>"""));
        if (points.Length == 0)
            svg.AppendLine(Invariant($"""<text x="{(Left + Width - Right) / 2}" y="{(Top + Height - Bottom) / 2}" text-anchor="middle" fill="#666">no finite loss yet</text>"""));
        AppendLine(svg, points.Select(p => (PlotX(p.X), PlotY(p.Y))), "#9ecae1", 1);
        // A short run gets a dot per step: a line through one point draws nothing.
        if (points.Length <= MaxMarkers)
            foreach (var (x, y) in points)
                svg.AppendLine(Invariant($"""<circle cx="{PlotX(x):0.##}" cy="{PlotY(y):0.##}" r="2.5" fill="#6baed6"/>"""));
        AppendLine(svg, Smooth(points).Select(p => (PlotX(p.X), PlotY(p.Y))), "#08519c", 2);
        AppendLegend(svg);
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void AppendLine(StringBuilder svg, IEnumerable<(double X, double Y)> points, string colour, double width)
    {
        var coordinates = string.Join(" ", points.Select(p => Invariant($"{p.X:0.##},{p.Y:0.##}")));
        if (coordinates.Length == 0) return;
        svg.AppendLine(Invariant($"""<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-linejoin="round"/>"""));
    }

    private static void AppendLegend(StringBuilder svg)
    {
        var x = Width - Right - 170;
        foreach (var (row, colour, width, text) in new[] { (0, "#9ecae1", 1, "loss"), (1, "#08519c", 2, "smoothed (EMA 0.9)") })
        {
            var y = Top + 14 + row * 18;
            svg.AppendLine(Invariant($"""<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{colour}" stroke-width="{width}"/>"""));
            svg.AppendLine(Invariant($"""<text x="{x + 32}" y="{y + 4}">{text}</text>"""));
        }
    }

    /// <summary>TensorBoard's smoothing: an exponential moving average, debiased so it does not start at 0.</summary>
    private static IEnumerable<(double X, double Y)> Smooth(IEnumerable<(double X, double Y)> points)
    {
        double average = 0, weight = 0;
        foreach (var (x, y) in points)
        {
            average = Smoothing * average + (1 - Smoothing) * y;
            weight = Smoothing * weight + (1 - Smoothing);
            yield return (x, average / weight);
        }
    }

    /// <summary>The data's span, widened by <paramref name="pad"/> of it on each side and never empty.</summary>
    private static (double Low, double High) Range(IEnumerable<double> values, double pad)
    {
        var list = values.ToArray();
        if (list.Length == 0) return (0, 1);
        double low = list.Min(), high = list.Max();
        if (high == low) return (low - Math.Max(1, Math.Abs(low) * 0.1), high + Math.Max(1, Math.Abs(high) * 0.1));
        var margin = (high - low) * pad;
        return (low - margin, high + margin);
    }

    /// <summary>The multiples of <paramref name="step"/> inside [low, high].</summary>
    private static IEnumerable<double> Ticks(double low, double high, double step)
    {
        for (var tick = Math.Ceiling(low / step) * step; tick <= high + step * 1e-9; tick += step)
            yield return Math.Abs(tick) < step * 1e-9 ? 0 : tick;
    }

    /// <summary>A round spacing (1, 2 or 5 × 10ⁿ) that gives about six ticks over the span.</summary>
    private static double TickStep(double span)
    {
        var rough = span / 6;
        var power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var fraction = rough / power;
        return power * (fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10);
    }

    /// <summary>A tick value with as many decimals as the tick spacing needs.</summary>
    private static string Label(double value, double step)
    {
        var decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step)));
        return value.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    private static string Escape(string text) =>
        text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
