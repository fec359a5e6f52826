namespace Dromedary.SelfAlign.Align;

/// <summary>One of align's six stages and the folder of RUN it writes.</summary>
public sealed record AlignStage(string Id, string Name, string Purpose)
{
    public static readonly AlignStage SelfInstruct = new("1a", "self-instruct", "new instructions written from the seed tasks");
    public static readonly AlignStage TgrtTopics = new("1b", "tgrt-topics", "topics brainstormed for each red-teaming question type");
    public static readonly AlignStage TgrtQuestions = new("1c", "tgrt-questions", "questions written for those topics");
    public static readonly AlignStage SelfAlign = new("2", "self-align", "answers under the principles and exemplars, filtered (plus the identity answers)");
    public static readonly AlignStage Engrave = new("3", "engrave", "a LoRA trained on stage 2's answers under the short standard prompt");
    public static readonly AlignStage VerboseClone = new("4", "verbose-clone", "verbose answers from the stage-3 model, filtered, and a fresh LoRA trained on them");

    public static IReadOnlyList<AlignStage> All { get; } = [SelfInstruct, TgrtTopics, TgrtQuestions, SelfAlign, Engrave, VerboseClone];

    public string Folder => $"{Id}-{Name}";

    public int Number => All.ToList().IndexOf(this) + 1;

    public string Path(string runDirectory) => System.IO.Path.Combine(runDirectory, Folder);
}
