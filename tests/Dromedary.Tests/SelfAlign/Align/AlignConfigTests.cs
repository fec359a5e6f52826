using Dromedary.SelfAlign.Align;
using Xunit;

namespace Dromedary.Tests.SelfAlign.Align;

public class AlignConfigTests
{
    [Fact]
    public void Defaults_are_the_methods()
    {
        var config = AlignConfig.Defaults();
        // METHOD.md §11.
        Assert.Equal(8192, config.Int(AlignConfig.SelfInstruct, "target"));
        Assert.Equal(0.98f, config.Float(AlignConfig.SelfInstruct, "top_p"));
        Assert.Equal(1024, config.Int(AlignConfig.SelfInstruct, "max_new_tokens"));
        Assert.Equal(128, config.Int(AlignConfig.TgrtTopics, "max_new_tokens"));
        Assert.Equal(384, config.Int(AlignConfig.TgrtQuestions, "max_new_tokens"));
        Assert.Equal(0.5f, config.Float(AlignConfig.SelfAlign, "temperature"));
        Assert.Equal(256, config.Int(AlignConfig.SelfAlign, "max_new_tokens"));
        Assert.Null(config.OptionalInt(AlignConfig.SelfAlign, "max_queries"));
        Assert.Equal(4e-4, config.Number(AlignConfig.Engrave, "lr"));
        Assert.Equal(768, config.Int(AlignConfig.Engrave, "batch"));
        Assert.Equal(512, config.Int(AlignConfig.Engrave, "cutoff"));
        Assert.Equal(768, config.Int(AlignConfig.VerboseClone, "cutoff"));
        Assert.Equal(512, config.Int(AlignConfig.VerboseClone, "max_new_tokens"));
        Assert.Equal("0.98", config.ToJson()[AlignConfig.SelfInstruct]!["top_p"]!.ToJsonString());
    }

    [Fact]
    public void Overrides_replace_only_the_keys_given()
    {
        var config = AlignConfig.Parse("""{"self_align": {"max_queries": 50}, "engrave": {"lr": 1e-3, "batch": 16.0}}""", "c.json");
        Assert.Equal(50, config.OptionalInt(AlignConfig.SelfAlign, "max_queries"));
        Assert.Equal(1e-3, config.Number(AlignConfig.Engrave, "lr"));
        Assert.Equal(16, config.Int(AlignConfig.Engrave, "batch"));
        Assert.Equal(768, config.Int(AlignConfig.VerboseClone, "batch"));
        Assert.Equal(256, config.Int(AlignConfig.SelfAlign, "max_new_tokens"));
    }

    [Theory]
    [InlineData("""{"self_allign": {}}""", "unknown key 'self_allign'")]
    [InlineData("""{"engrave": {"learning_rate": 1}}""", "unknown key 'engrave.learning_rate'")]
    [InlineData("""{"engrave": {"batch": "8"}}""", "'engrave.batch' must be a whole number, not \"8\"")]
    [InlineData("""{"engrave": {"batch": 1.5}}""", "'engrave.batch' must be a whole number")]
    [InlineData("""{"engrave": {"batch": null}}""", "'engrave.batch' must be a whole number")]
    [InlineData("""{"engrave": {"lr": true}}""", "'engrave.lr' must be a number")]
    [InlineData("""{"engrave": {"schedule": 3}}""", "'engrave.schedule' must be a string")]
    [InlineData("""{"engrave": 3}""", "'engrave' must be an object")]
    [InlineData("""[1]""", "expected a JSON object")]
    [InlineData("""{"engrave": {""", "not valid JSON")]
    public void Bad_overrides_are_refused_naming_the_file_and_the_key(string json, string expected)
    {
        var error = Assert.Throws<DromedaryException>(() => AlignConfig.Parse(json, "scale.json"));
        Assert.StartsWith("scale.json: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_null_cap_is_accepted_where_a_cap_may_be_absent()
    {
        var config = AlignConfig.Parse("""{"verbose_clone": {"max_queries": null}}""", "c.json");
        Assert.Null(config.OptionalInt(AlignConfig.VerboseClone, "max_queries"));
    }

    [Fact]
    public void The_demo_configuration_parses() => Assert.NotNull(AlignConfig.Demo());

    [Fact]
    public void A_missing_config_file_is_named()
    {
        var error = Assert.Throws<DromedaryException>(() => AlignConfig.Load("/nonexistent/scale.json"));
        Assert.Contains("/nonexistent/scale.json", error.Message);
    }
}
