using Dromedary.SelfAlign.Principles;

namespace Dromedary.SelfAlign.Data;

/// <summary>
/// The human-written inputs of stages 1 and 2: the user's file when a path is given, otherwise the one embedded in
/// the build as Dromedary.SelfAlign.Data.&lt;file&gt; (our own texts, in the original's formats).
/// </summary>
public static class SeedData
{
    public const string SeedTasksFile = "seed_tasks.jsonl";
    public const string TgrtSeedsFile = "tgrt_seeds.jsonl";
    public const string PrinciplesFile = "principles.txt";
    public const string ExemplarsFile = "exemplars.txt";
    public const string IdentityFile = "identity.json";

    public static IReadOnlyList<SeedTask> SeedTasks(string? path) =>
        path is null ? ReadEmbedded(SeedTasksFile, "--seed-tasks", SeedTask.Read) : SeedTask.Read(path);

    public static IReadOnlyList<TgrtSeed> TgrtSeeds(string? path) =>
        path is null ? ReadEmbedded(TgrtSeedsFile, "--tgrt-seeds", TgrtSeed.Read) : TgrtSeed.Read(path);

    public static IReadOnlyList<IdentityExample> Identity(string? path) =>
        path is null ? ReadEmbedded(IdentityFile, "--identity", IdentityExample.Read) : IdentityExample.Read(path);

    /// <summary>
    /// The stage-2 prompt from a principles file and an exemplars file; the original's single file (rules and
    /// "## Examples" together) may be given as the principles alone.
    /// </summary>
    public static AlignmentPrompt Prompt(string? principlesPath, string? exemplarsPath)
    {
        var (principles, principlesSource) = principlesPath is null
            ? (ReadEmbedded(PrinciplesFile, "--principles", ReadText), ResourceName(PrinciplesFile))
            : (ReadText(principlesPath), principlesPath);
        var bundled = principlesPath is not null && exemplarsPath is null && principles.Contains("## Examples", StringComparison.Ordinal);
        var (exemplars, exemplarsSource) = bundled ? (null, null)
            : exemplarsPath is null ? (ReadEmbedded(ExemplarsFile, "--exemplars", ReadText), ResourceName(ExemplarsFile))
            : (ReadText(exemplarsPath), exemplarsPath);
        return AlignmentPrompt.Parse(principles, principlesSource, exemplars, exemplarsSource);
    }

    public static string ResourceName(string file) => $"{typeof(SeedData).Namespace}.{file}";

    private static string ReadText(string path) => File.Exists(path)
        ? File.ReadAllText(path)
        : throw new DromedaryException($"{path}: not found.");

    private static string ReadText(Stream stream, string source)
    {
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static T ReadEmbedded<T>(string file, string option, Func<Stream, string, T> read)
    {
        var name = ResourceName(file);
        using var stream = typeof(SeedData).Assembly.GetManifestResourceStream(name)
            ?? throw new DromedaryException($"this build has no embedded {file} ({name}); give your own with {option} FILE.");
        return read(stream, name);
    }
}
