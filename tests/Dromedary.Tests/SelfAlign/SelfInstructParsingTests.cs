using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.Runs;
using Dromedary.SelfAlign.SelfInstruct;
using Xunit;

namespace Dromedary.Tests.SelfAlign;

public class SelfInstructParsingTests
{
    [Fact]
    public void Prompt_lists_the_demonstrations_cleaned_and_asks_for_the_next()
    {
        var tasks = SeedTask.Read(SelfAlignFixtures.Path("seed_tasks.jsonl"));
        var prompt = SelfInstructPrompt.Build("Make tasks.", [tasks[2], tasks[0]]);
        Assert.Equal(
            "Make tasks.\n" +
            "###\n1. Instruction: Rewrite the sentence so that it is shorter\n1. Input:\nAt this point in time we are not able to help.\n" +
            "###\n2. Instruction: Suggest three names for a pet turtle.\n2. Input:\n<noinput>\n" +
            "###\n3. Instruction:", prompt);
    }

    [Fact]
    public void Each_rule_drops_its_case_and_good_pieces_are_kept()
    {
        // Continues after "3. Instruction:" (two demonstrations); pieces 3..11 and a truncated last one.
        var completion =
            " Describe the water cycle in simple words.\n3. Input:\n<NoInput>\n" +
            "###\n4. Instruction: Translate this phrase into French.\n4. Input:\nGood morning\n" +
            "###\n5. Instruction: Be kind.\n5. Input:\n<noinput>\n" +
            "###\n6. Instruction: Draw a cat wearing a hat please.\n6. Input:\n<noinput>\n" +
            "###\n7. Instruction: Summarize the text for a child.\n7. Input:\nThe map shows three roads.\n" +
            "###\n8. Instruction: \"Quote\" this famous line for me now.\n8. Input:\n<noinput>\n" +
            "###\n9. Instruction: Écris un poème sur la mer.\n9. Input:\n<noinput>\n" +
            "###\n10. Instruction: Explain photosynthesis to a student.\n" +
            "###\n11. Instruction: " + string.Join(' ', Enumerable.Repeat("word", 151)) + "\n11. Input:\n<noinput>\n" +
            "###\n12. Instruction: Give me the";
        var stats = new FilterStats();
        var tasks = InstructionParser.Parse(completion, 2, stats);
        Assert.Equal([new GeneratedTask("Describe the water cycle in simple words.", ""), new GeneratedTask("Translate this phrase into French.", "Good morning")], tasks);
        Assert.Equal(1, stats[InstructionParser.Rules.TooShort]);
        Assert.Equal(2, stats[InstructionParser.Rules.Blacklisted]); // "Draw" in the instruction, "map" in the input
        Assert.Equal(1, stats[InstructionParser.Rules.Punctuation]);
        Assert.Equal(1, stats[InstructionParser.Rules.NonAscii]);
        Assert.Equal(1, stats[InstructionParser.Rules.Malformed]); // no "10. Input:"
        Assert.Equal(1, stats[InstructionParser.Rules.TooLong]);
        Assert.Equal(1, stats[InstructionParser.Rules.LastPiece]);
    }

    [Fact]
    public void Blacklist_matches_whole_words_only()
    {
        Assert.Null(InstructionParser.Reject("Explain why profiles matter in hiring.", ""));
        Assert.Equal(InstructionParser.Rules.Blacklisted, InstructionParser.Reject("Tell me where to GO TO dinner tonight.", ""));
    }
}
