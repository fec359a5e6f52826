using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Data;
using Dromedary.SelfAlign.FineTuning;
using Dromedary.SelfAlign.Principles;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.Runs;
using Dromedary.SelfAlign.SelfInstruct;
using Dromedary.SelfAlign.Tgrt;

namespace Dromedary.SelfAlign.Align;

/// <summary>Each stage's options as align runs it: our embedded texts, and the run's configuration for every parameter.</summary>
public sealed class AlignOptions(AlignRequest request)
{
    private readonly AlignConfig _config = request.Config;

    public SelfInstructOptions SelfInstruct(TextTokenizer tokenizer) =>
        new(StageTemplates.Load(null, EmbeddedPrompts.SelfInstruct), SeedData.SeedTasks(null))
        {
            Target = _config.Int(AlignConfig.SelfInstruct, "target"),
            MaxPrompts = _config.OptionalInt(AlignConfig.SelfInstruct, "max_prompts"),
            BatchSize = _config.Int(AlignConfig.SelfInstruct, "batch_size"),
            Demonstrations = _config.Int(AlignConfig.SelfInstruct, "demonstrations"),
            SimilarityThreshold = _config.Number(AlignConfig.SelfInstruct, "similarity"),
            Temperature = _config.Float(AlignConfig.SelfInstruct, "temperature"),
            TopP = _config.Float(AlignConfig.SelfInstruct, "top_p"),
            MaxNewTokens = _config.Int(AlignConfig.SelfInstruct, "max_new_tokens"),
            EosId = tokenizer.EosId,
        };

    public TgrtTopicsOptions TgrtTopics(TextTokenizer tokenizer) =>
        new(StageTemplates.Load(null, EmbeddedPrompts.TgrtTopics), QuestionTypes())
        {
            Epochs = _config.Int(AlignConfig.TgrtTopics, "epochs"),
            Examples = _config.Int(AlignConfig.TgrtTopics, "examples"),
            Temperature = _config.Float(AlignConfig.TgrtTopics, "temperature"),
            TopP = _config.Float(AlignConfig.TgrtTopics, "top_p"),
            MaxNewTokens = _config.Int(AlignConfig.TgrtTopics, "max_new_tokens"),
            EosId = tokenizer.EosId,
        };

    /// <param name="topics">Stage 1b's topics; the first max_topics are used.</param>
    public TgrtQuestionsOptions TgrtQuestions(TextTokenizer tokenizer, IReadOnlyList<TypedTopic> topics) =>
        new(StageTemplates.Load(null, EmbeddedPrompts.TgrtQuestions), SeedData.TgrtSeeds(null),
            topics.Take(_config.OptionalInt(AlignConfig.TgrtQuestions, "max_topics") ?? int.MaxValue).ToList())
        {
            Demonstrations = _config.Int(AlignConfig.TgrtQuestions, "demonstrations"),
            HintsPerPrompt = _config.Int(AlignConfig.TgrtQuestions, "hints"),
            Temperature = _config.Float(AlignConfig.TgrtQuestions, "temperature"),
            TopP = _config.Float(AlignConfig.TgrtQuestions, "top_p"),
            MaxNewTokens = _config.Int(AlignConfig.TgrtQuestions, "max_new_tokens"),
            EosId = tokenizer.EosId,
        };

    public SelfAlignOptions SelfAlign(TextTokenizer tokenizer, IReadOnlyList<Query> queries) =>
        new(SeedData.Prompt(null, null), queries, Identity())
        {
            Name = _config.Text(AlignConfig.SelfAlign, "name"),
            ExtraLeakMarkers = SeedData.LeakMarkers(null),
            Temperature = _config.Float(AlignConfig.SelfAlign, "temperature"),
            TopP = _config.Float(AlignConfig.SelfAlign, "top_p"),
            MaxNewTokens = _config.Int(AlignConfig.SelfAlign, "max_new_tokens"),
            SorryId = SelfAlignOptions.SorryToken(tokenizer),
        };

    /// <summary>A LoRA run on the base (stage 3's or 4's, by <paramref name="section"/>), resuming whatever <paramref name="folder"/> holds.</summary>
    public FineTuneOptions Training(string section, string data, string folder, TrainingTemplate template) => new()
    {
        Base = request.Base, Data = data, Out = folder, Template = template,
        Rank = _config.Int(section, "lora_r"), Alpha = _config.Number(section, "lora_alpha"), Dropout = _config.Number(section, "lora_dropout"),
        Targets = _config.Text(section, "targets"), LearningRate = _config.Number(section, "lr"), Warmup = _config.Int(section, "warmup"),
        Schedule = _config.Text(section, "schedule"), Epochs = _config.Int(section, "epochs"), Batch = _config.Int(section, "batch"),
        MicroBatch = _config.OptionalInt(section, "micro_batch"), Cutoff = _config.Int(section, "cutoff"), Clip = _config.Number(section, "clip"),
        CheckpointEvery = _config.Int(section, "checkpoint_every"), Seed = request.Seed, Resume = true, Precision = request.Precision,
    };

    /// <summary>The identity examples, or a seeded sample of identity_examples of them (the file groups its questions).</summary>
    public IReadOnlyList<IdentityExample> Identity()
    {
        var all = SeedData.Identity(null);
        return _config.OptionalInt(AlignConfig.SelfAlign, "identity_examples") is { } count && count < all.Count
            ? Seeds.Sample(Seeds.Random(request.Seed, -3), all, count)
            : all;
    }

    /// <summary>The TGRT seeds of the first question_types types (all when null), one seed per type.</summary>
    private IReadOnlyList<TgrtSeed> QuestionTypes()
    {
        var seeds = SeedData.TgrtSeeds(null);
        var types = seeds.Select(s => s.QuestionType).Distinct().Take(_config.OptionalInt(AlignConfig.TgrtTopics, "question_types") ?? int.MaxValue).ToHashSet();
        return seeds.Where(s => types.Contains(s.QuestionType)).ToList();
    }
}
