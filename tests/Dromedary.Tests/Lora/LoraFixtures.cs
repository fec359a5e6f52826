using Dromedary.Model.Config;
using Dromedary.Model.Lora;
using Dromedary.Training.Lora;

namespace Dromedary.Tests.Lora;

/// <summary>Adapters and token sequences on the tiny fixture model for the LoRA tests.</summary>
internal static class LoraFixtures
{
    /// <summary>Rank 4 on all seven projections with alpha/r = 2, so every path and the scaling are exercised.</summary>
    public static LoraConfig Config(double dropout = 0) =>
        new() { Rank = 4, Alpha = 8, Dropout = dropout, Targets = LoraTargets.All, BaseModel = "tiny-llama" };

    /// <summary>PEFT's initialisation, then B random too (PEFT's zero B would hide every path through A).</summary>
    public static LoraAdapter RandomAdapter(LlamaConfig model, LoraConfig config, int seed = 7)
    {
        var adapter = LoraAdapter.Create(config, model, (ulong)seed);
        var random = new Random(seed);
        foreach (var m in adapter.Matrices)
            for (var i = 0; i < m.B.Length; i++) m.B[i] = (float)((random.NextDouble() * 2 - 1) * 0.1);
        return adapter;
    }

    /// <summary>
    /// Three sequences cut from the fixture's texts: the first few tokens are a masked prompt, as in the method's
    /// data; the last is right-padded with token 0 and label −100.
    /// </summary>
    public static TrainingSequence[] Sequences()
    {
        var texts = Fixtures.ReferenceLogprobs("f32");
        return
        [
            Sequence(texts[1].Tokens[..14], prompt: 5),
            Sequence(texts[2].Tokens[..11], prompt: 3),
            Sequence(texts[3].Tokens[..9], prompt: 4, padding: 4),
        ];
    }

    public static TrainingSequence Sequence(int[] tokens, int prompt, int padding = 0)
    {
        var ids = tokens.Concat(Enumerable.Repeat(0, padding)).ToArray();
        var labels = ids.Select((id, t) => t < prompt || t >= tokens.Length ? TrainingSequence.Ignored : id).ToArray();
        return new TrainingSequence(ids, labels);
    }

    public static int Counted(IEnumerable<TrainingSequence> sequences) => sequences.Sum(s => s.CountedTargets);
}
