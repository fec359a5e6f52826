namespace Dromedary.SelfAlign.Prompts;

/// <summary>
/// The stage-1 templates: the user's file when given, else ours. Trailing newlines are dropped, so that whether
/// a file ends in one or not does not change the prompt (the stages add the line breaks the format needs).
/// </summary>
public static class StageTemplates
{
    public static string Load(string? path, string embedded) =>
        (path is null ? EmbeddedPrompts.Read(embedded) : EmbeddedPrompts.ReadFile(path)).TrimEnd('\n');
}
