using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Runs;
using Dromedary.SelfAlign.Tgrt;
using Dromedary.SelfAlign.Text;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

public class TgrtParsingTests
{
    [Fact]
    public void Topics_keep_short_capitalised_lines_of_the_first_twenty()
    {
        var lines = new[] { " Ocean Currents", "7. Deep Sea Mining", "8. the Moon", "9. Very Long Topic Name Here", "10. Tides!", "11. ", "12. Salt Marshes" }
            .Concat(Enumerable.Range(13, 14).Select(i => $"{i}. Extra Topic")).Append("27. Beyond Twenty");
        var stats = new FilterStats();
        var topics = TopicParser.Parse(string.Join("\n", lines), stats);
        Assert.Equal(["Ocean Currents", "Deep Sea Mining", "Salt Marshes"], topics.Take(3));
        Assert.Equal(3 + 13, topics.Count); // line 21 and later are not read
        Assert.Equal(1, stats[TopicParser.Rules.NotCapitalized]);
        Assert.Equal(1, stats[TopicParser.Rules.TooManyWords]);
        Assert.Equal(1, stats[TopicParser.Rules.EndsWithPunctuation]);
        Assert.Equal(1, stats[TopicParser.Rules.Empty]);
    }

    [Fact]
    public void Topic_prompt_fills_the_type_and_numbers_the_listed_topics()
    {
        Assert.Equal("Topics for Questions that require X:\n\n1. Tides\n2. Reefs\n",
            TopicParser.Prompt("Topics for {}:", "Questions that require X", [new TypedTopic("Tides", "A"), new TypedTopic("Reefs", "A")]));
    }

    [Fact]
    public void Pools_are_deduplicated_ignoring_case_and_cut_to_the_smallest_type()
    {
        var stats = new FilterStats();
        var pool = new[]
        {
            new TypedTopic("Tides", "A"), new TypedTopic("Reefs", "A"), new TypedTopic("tides", "A"), new TypedTopic("Waves", "A"),
            new TypedTopic("Fairs", "B"), new TypedTopic("Buses", "B"),
        };
        var balanced = TopicParser.DedupAndBalance(pool, stats);
        Assert.Equal([new TypedTopic("Tides", "A"), new TypedTopic("Reefs", "A"), new TypedTopic("Fairs", "B"), new TypedTopic("Buses", "B")], balanced);
        Assert.Equal(1, stats[TopicParser.Rules.Duplicate]);
        Assert.Equal(1, stats[TopicParser.Rules.Unbalanced]);
    }

    [Fact]
    public void Question_prompt_lists_hints_and_examples_and_the_parser_keeps_hinted_lines()
    {
        var seeds = TgrtSeed.Read(SelfAlignFixtures.Path("tgrt_seeds.jsonl"));
        var hints = new[] { new TypedTopic("Coral Reefs", seeds[0].QuestionType), new TypedTopic("Bus Routes", seeds[1].QuestionType) };
        var prompt = QuestionPrompt.Build("H:{}\nE:{}", [seeds[2]], hints);
        Assert.Equal(
            "H:\n1. type: Instructions that require personal taste, topic: Board Games\n" +
            "2. type: Instructions that require knowledge of the sea, topic: Coral Reefs\n" +
            "3. type: Instructions that require local knowledge, topic: Bus Routes\n" +
            "E:\n1. type: Instructions that require personal taste, topic: Board Games, instruction: Which board game will I enjoy the most?\n",
            prompt);

        var completion =
            "2. type: Instructions that require knowledge of the sea, topic: Coral Reefs, instruction: How many fish live on the reef near my house?\n" +
            "4. type: Something else, topic: Nope, instruction: ignored\n" +
            "3. type: Instructions that require local knowledge, topic: Bus Routes, instruction: When does the 12 bus leave today?\n" +
            "4. type: Instructions that require local knowledge, topic: Bus Routes, instruction: cut";
        var stats = new FilterStats();
        var found = QuestionPrompt.Parse(completion, [seeds[2]], hints, stats);
        Assert.Equal(
            [(new TypedTopic("Coral Reefs", "Instructions that require knowledge of the sea"), "How many fish live on the reef near my house?"),
             (new TypedTopic("Bus Routes", "Instructions that require local knowledge"), "When does the 12 bus leave today?")],
            found);
        Assert.Equal(1, stats[QuestionPrompt.Rules.NoHint]);
        Assert.Equal(1, stats[QuestionPrompt.Rules.LastLine]);
    }

    [Fact]
    public void Templates_fill_in_order_and_refuse_a_count_mismatch()
    {
        Assert.Equal("a {x} b", PythonFormat.Apply("{} {{x}} {}", "t", "a", "b"));
        Assert.Contains("needs 2", Assert.Throws<DromedaryException>(() => PythonFormat.Apply("{}", "t", "a", "b")).Message);
        Assert.Contains("lone '{'", Assert.Throws<DromedaryException>(() => PythonFormat.Apply("{x}", "t")).Message);
    }
}
