using System.Text;
using System.Text.RegularExpressions;
using Dromedary.SelfAlign.Data;

namespace Dromedary.SelfAlign.SelfInstruct;

/// <summary>
/// The Self-Instruct request (METHOD.md §2.2): the meta prompt, a newline, the demonstrations as "###\nk.
/// Instruction: …\nk. Input:\n…\n" (whitespace runs collapsed, a trailing ':' dropped, "&lt;noinput&gt;" for no input),
/// then "###\nK+1. Instruction:" for the model to continue.
/// </summary>
public static partial class SelfInstructPrompt
{
    public const string NoInput = "<noinput>";

    public static string Build(string metaPrompt, IReadOnlyList<SeedTask> demonstrations)
    {
        var prompt = new StringBuilder(metaPrompt).Append('\n');
        for (var k = 0; k < demonstrations.Count; k++)
        {
            var instruction = Whitespace().Replace(demonstrations[k].Instruction, " ").Trim().TrimEnd(':');
            var input = demonstrations[k].Input.Length == 0 ? NoInput : demonstrations[k].Input;
            prompt.Append($"###\n{k + 1}. Instruction: {instruction}\n{k + 1}. Input:\n{input}\n");
        }
        return prompt.Append($"###\n{demonstrations.Count + 1}. Instruction:").ToString();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
