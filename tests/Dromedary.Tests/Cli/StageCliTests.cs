using System.Text.Json;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Inference;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using Dromedary.Model.Tokenization;
using Dromedary.SelfAlign.Prompts;
using Dromedary.SelfAlign.VerboseCloning;
using Dromedary.Training.Data;
using Xunit;

namespace Dromedary.Tests.Cli;

/// <summary>
/// `dromedary engrave` and `dromedary verbose-clone` end to end on the tiny model, with short meta prompts (ours do
/// not fit its 256 positions). The tiny model's weights are random, so its verbose answers are noise that the filter
/// drops as too short; the questions about our exemplar's private person get the filter's fixed answer, which is
/// what the final adapter then learns.
/// </summary>
public sealed class StageCliTests
{
    private static readonly string F32 = Fixtures.TinyLlama("f32");

    private static readonly string[] Fast = ["--precision", "fp32", "--lr", "2e-2", "--warmup", "1", "--lora-r", "4", "--checkpoint-every", "0", "--threads", "2"];

    private sealed record Files(string Data, string Standard, string Concise, string Verbose);

    private static Files Write(TempDirectory folder)
    {
        var lines = Enumerable.Range(0, 6).Select(i => JsonSerializer.Serialize(new
        {
            instruction = i % 2 == 0 ? $"Who is {VerboseFilter.PrivateName} number {i}?" : $"Tell me about camel {i}.", input = i % 3 == 1 ? "It lives in the desert." : "",
            output = $"Camel {i} walks across the sand and drinks from the oasis.\n\n### User\n", example_id = i + 1,
        }));
        File.WriteAllLines(folder["kept.jsonl"], lines);
        File.WriteAllText(folder["standard.txt"], "# Camel\n\nA helpful camel answers.\n\n### User\n");
        File.WriteAllText(folder["concise.txt"], "# Camel\n\n### User\n");
        File.WriteAllText(folder["verbose.txt"], "# Camel\n\nA camel answers at length.\n\n### User\n");
        return new Files(folder["kept.jsonl"], folder["standard.txt"], folder["concise.txt"], folder["verbose.txt"]);
    }

    private static string[] VerboseClone(TempDirectory folder, Files files, string stage3, params string[] more) =>
        ["verbose-clone", "--base", F32, "--adapter", stage3, "--data", files.Data, "--out", folder["stage4"], "--verbose-prompt", files.Verbose,
            "--prompt", files.Concise, "--prompt", files.Standard, "--max-new-tokens", "90", .. Fast, .. more];

    /// <summary>Summed log-probability of the counted (answer) tokens of the records, under the base with or without an adapter.</summary>
    private static double AnswerLogProb(string? adapter, IReadOnlyList<TrainingRecord> records, TrainingTemplate template)
    {
        var config = LlamaConfig.Load(F32);
        using var kernels = KernelRegistry.Create("cpu", 2);
        using var model = LlamaModel.Load(F32, kernels, new ModelLoadOptions(Precision.Fp32, 0, adapter is null ? null : LoraAdapter.Load(adapter, config)));
        var builder = new ExampleBuilder(TextTokenizer.Load(F32), template, config.MaxPositions);
        var sum = 0.0;
        foreach (var example in records.Select(builder.Build))
        {
            var logProbs = Scoring.TokenLogProbs(model, example.InputIds);
            for (var i = 0; i < logProbs.Length; i++)
                if (example.Labels[i + 1] != TokenizedExample.IgnoreLabel) sum += logProbs[i];
        }
        return sum;
    }

    private static Dictionary<string, string> RawById(string path) =>
        File.ReadAllLines(path).Where(line => line.Length > 0).Select(line => JsonDocument.Parse(line).RootElement)
            .ToDictionary(e => e.GetProperty("id").GetRawText(), e => e.GetProperty("completion").GetString()!);

    [Fact]
    public void Engrave_then_verbose_clone_write_adapters_that_raise_the_likelihood_of_their_own_training_answers()
    {
        using var folder = new TempDirectory();
        var files = Write(folder);
        var stage3 = folder["stage3"];
        var engrave = Cli.Run(["engrave", "--base", F32, "--data", files.Data, "--out", stage3, "--prompt", files.Standard, "--batch", "3",
            "--micro-batch", "3", "--epochs", "4", .. Fast]);
        Assert.True(engrave.ExitCode == 0, engrave.Stderr);
        Assert.Contains("step 8/8 loss", engrave.Stderr);
        var stage3Template = TrainingTemplate.FromFiles([files.Standard]);
        var records = TrainingRecordReader.Read(files.Data);
        Assert.True(AnswerLogProb(stage3, records, stage3Template) > AnswerLogProb(null, records, stage3Template) + 1.0);

        var clone = Cli.Run(VerboseClone(folder, files, stage3, "--batch", "2", "--micro-batch", "2", "--epochs", "4"));
        Assert.True(clone.ExitCode == 0, clone.Stderr);
        var stage4 = folder["stage4"];
        var raw = RawById(Path.Combine(stage4, VerboseCloneRun.RawFile));
        Assert.Equal(["1", "2", "3", "4", "5", "6"], raw.Keys.Order());
        var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(stage4, VerboseCloneRun.StatsFile))).RootElement;
        Assert.Equal(6, stats.GetProperty("answers").GetInt32());
        var kept = TrainingRecordReader.Read(Path.Combine(stage4, VerboseCloneRun.KeptFile));
        Assert.Equal(stats.GetProperty("kept").GetInt32(), kept.Count);
        Assert.Equal(3, stats.GetProperty(VerboseFilter.Rule.PrivatePersonReplaced).GetInt32());
        Assert.Equal(3, kept.Count);
        Assert.All(kept, r => Assert.Equal(VerboseFilter.PrivatePersonAnswer, r.Output));
        Assert.Equal(Enumerable.Range(1, kept.Count), kept.Select(r => r.ExampleId!.Value));
        var stage4Template = TrainingTemplate.FromFiles([files.Concise, files.Standard]);
        var adapter = Path.Combine(stage4, VerboseCloneRun.AdapterFolder);
        Assert.True(AnswerLogProb(adapter, kept, stage4Template) > AnswerLogProb(null, kept, stage4Template) + 1.0);

        // The filters re-run from raw.jsonl alone (no model is read: --base is not even given) and write the same files.
        var keptText = File.ReadAllText(Path.Combine(stage4, VerboseCloneRun.KeptFile));
        var statsText = File.ReadAllText(Path.Combine(stage4, VerboseCloneRun.StatsFile));
        File.Delete(Path.Combine(stage4, VerboseCloneRun.KeptFile));
        var filterOnly = Cli.Run("verbose-clone", "--out", stage4, "--filter-only");
        Assert.True(filterOnly.ExitCode == 0, filterOnly.Stderr);
        Assert.Equal(keptText, File.ReadAllText(Path.Combine(stage4, VerboseCloneRun.KeptFile)));
        Assert.Equal(statsText, File.ReadAllText(Path.Combine(stage4, VerboseCloneRun.StatsFile)));
    }

    [Fact]
    public void A_killed_verbose_clone_resumes_without_losing_or_repeating_an_answer()
    {
        using var folder = new TempDirectory();
        var files = Write(folder);
        var stage3 = folder["stage3"];
        var engrave = Cli.Run(["engrave", "--base", F32, "--data", files.Data, "--out", stage3, "--prompt", files.Standard, "--batch", "6", .. Fast]);
        Assert.True(engrave.ExitCode == 0, engrave.Stderr);
        var args = VerboseClone(folder, files, stage3, "--batch", "8", "--limit", "4");
        var first = Cli.Run(args);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var rawPath = Path.Combine(folder["stage4"], VerboseCloneRun.RawFile);
        var before = RawById(rawPath);
        Assert.Equal(4, before.Count);

        // A kill mid-write leaves half a line.
        var bytes = File.ReadAllBytes(rawPath);
        var lastLineStart = Array.LastIndexOf(bytes, (byte)'\n', bytes.Length - 2) + 1;
        File.WriteAllBytes(rawPath, bytes[..(lastLineStart + (bytes.Length - lastLineStart) / 2)]);
        var refused = Cli.Run(args);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("--resume", refused.Stderr);

        var resumed = Cli.Run([.. args, "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("dropped an unfinished last line", resumed.Stderr);
        var lines = File.ReadAllLines(rawPath).Where(line => line.Length > 0).ToArray();
        Assert.Equal(4, lines.Length);
        Assert.Equal(before, RawById(rawPath));
    }

    [Fact]
    public void Filter_only_reports_a_malformed_raw_answer_with_file_and_line()
    {
        using var folder = new TempDirectory();
        Directory.CreateDirectory(folder["stage4"]);
        var raw = Path.Combine(folder["stage4"], VerboseCloneRun.RawFile);
        File.WriteAllLines(raw, ["""{"id": 1, "instruction": "Hi", "input": "", "completion": "Hello"}""", """{"id": 2, "instruction": "Hi"}"""]);
        var result = Cli.Run("verbose-clone", "--out", folder["stage4"], "--filter-only");
        Assert.Equal(1, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"error: {raw}:2: ", lines[0]);
        Assert.Contains("missing \"completion\"", lines[0]);
        Assert.False(File.Exists(Path.Combine(folder["stage4"], VerboseCloneRun.KeptFile)));
    }
}
