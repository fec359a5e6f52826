using System.Net;
using System.Text;

namespace Dromedary.SelfAlign.Align;

/// <summary>A piece of the align report, written once and rendered both as Markdown and as self-contained HTML.</summary>
public abstract record ReportBlock
{
    public abstract void Markdown(StringBuilder text);
    public abstract void Html(StringBuilder text);

    protected static string Escape(string text) => WebUtility.HtmlEncode(text);
}

public sealed record ReportHeading(string Text, int Level) : ReportBlock
{
    public override void Markdown(StringBuilder text) => text.Append('#', Level).Append(' ').Append(Text).Append("\n\n");
    public override void Html(StringBuilder text) => text.Append($"<h{Level}>{Escape(Text)}</h{Level}>\n");
}

public sealed record ReportParagraph(string Text) : ReportBlock
{
    public override void Markdown(StringBuilder text) => text.Append(Text).Append("\n\n");
    public override void Html(StringBuilder text) => text.Append($"<p>{Escape(Text)}</p>\n");
}

/// <summary>Commands and paths, shown verbatim.</summary>
public sealed record ReportCode(string Text) : ReportBlock
{
    public override void Markdown(StringBuilder text) => text.Append("```\n").Append(Text).Append("\n```\n\n");
    public override void Html(StringBuilder text) => text.Append($"<pre>{Escape(Text)}</pre>\n");
}

public sealed record ReportTable(string[] Header, IReadOnlyList<string[]> Rows) : ReportBlock
{
    public override void Markdown(StringBuilder text)
    {
        static string Cell(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
        text.Append("| ").Append(string.Join(" | ", Header.Select(Cell))).Append(" |\n");
        text.Append('|').Append(string.Concat(Header.Select(_ => "---|"))).Append('\n');
        foreach (var row in Rows) text.Append("| ").Append(string.Join(" | ", row.Select(Cell))).Append(" |\n");
        text.Append('\n');
    }

    public override void Html(StringBuilder text)
    {
        text.Append("<table>\n<tr>").Append(string.Concat(Header.Select(h => $"<th>{Escape(h)}</th>"))).Append("</tr>\n");
        foreach (var row in Rows) text.Append("<tr>").Append(string.Concat(row.Select(c => $"<td>{Escape(c)}</td>"))).Append("</tr>\n");
        text.Append("</table>\n");
    }
}

/// <summary>An SVG picture: linked from the Markdown (by its path relative to the report), inlined in the HTML.</summary>
public sealed record ReportPicture(string SvgPath, string RelativePath, string Caption) : ReportBlock
{
    public override void Markdown(StringBuilder text) => text.Append($"![{Caption}]({RelativePath.Replace('\\', '/')})\n\n");

    public override void Html(StringBuilder text)
    {
        var svg = File.ReadAllText(SvgPath);
        var start = svg.IndexOf("<svg", StringComparison.Ordinal);
        text.Append("<figure>").Append(start >= 0 ? svg[start..] : svg).Append($"<figcaption>{Escape(Caption)}</figcaption></figure>\n");
    }
}
