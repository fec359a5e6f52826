namespace Dromedary.Tests.SelfAlign;

/// <summary>The small hand-written inputs under tests/fixtures/selfalign.</summary>
public static class SelfAlignFixtures
{
    public static string Path(string file) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "selfalign", file);
}
