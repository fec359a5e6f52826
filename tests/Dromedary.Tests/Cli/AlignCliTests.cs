using Xunit;

namespace Dromedary.Tests.Cli;

public class AlignCliTests
{
    [Fact]
    public void A_bad_config_is_one_line_naming_the_file_and_key()
    {
        using var folder = new TempDirectory();
        File.WriteAllText(folder["scale.json"], """{"engrave": {"batch": "big"}}""");
        var result = Cli.Run("align", "--base", Path.Combine(AppContext.BaseDirectory, "models", "toy"), "--out", folder["run"], "--config", folder["scale.json"]);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {folder["scale.json"]}: 'engrave.batch' must be a whole number, not \"big\".", result.Stderr.Trim());
        Assert.False(Directory.Exists(folder["run"]));
    }
}
