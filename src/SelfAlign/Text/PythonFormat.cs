using System.Text;

namespace Dromedary.SelfAlign.Text;

/// <summary>
/// Fills a prompt template the way the original's str.format does for its templates: each "{}" takes the next
/// argument, "{{" and "}}" are literal braces. Named or numbered fields are not used by the method and are refused.
/// </summary>
public static class PythonFormat
{
    public static string Apply(string template, string source, params string[] args)
    {
        var result = new StringBuilder(template.Length);
        var next = 0;
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            var following = i + 1 < template.Length ? template[i + 1] : '\0';
            if ((c == '{' && following == '{') || (c == '}' && following == '}'))
            {
                result.Append(c);
                i++;
            }
            else if (c == '{' && following == '}')
            {
                if (next == args.Length) throw new DromedaryException($"{source}: the template has more than {args.Length} {{}} placeholders.");
                result.Append(args[next++]);
                i++;
            }
            else if (c is '{' or '}')
                throw new DromedaryException($"{source}: a lone '{c}' in the template; write '{c}{c}' for a literal brace.");
            else result.Append(c);
        }
        if (next != args.Length) throw new DromedaryException($"{source}: the template needs {args.Length} {{}} placeholders, it has {next}.");
        return result.ToString();
    }
}
