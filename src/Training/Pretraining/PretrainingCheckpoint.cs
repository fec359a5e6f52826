using System.Text;
using System.Text.Json;
using Dromedary.Kernels;
using Dromedary.Model.Config;
using Dromedary.Model.Safetensors;

namespace Dromedary.Training.Pretraining;

/// <summary>
/// A resumable pretraining state: fp32 weights and both Adam moments, each a safetensors file in a folder named by
/// its step, made current by atomically rewriting <c>checkpoint.json</c> last. A crash while writing leaves the
/// previous checkpoint current; the superseded folder is removed only after the switch.
/// </summary>
internal static class PretrainingCheckpoint
{
    public const string StateFile = "checkpoint.json";
    private const string Weights = "model.safetensors", FirstMoment = "adam_m.safetensors", SecondMoment = "adam_v.safetensors";

    private sealed record State(int Step, string Folder, string Settings);

    public static bool Exists(string outputFolder) => File.Exists(Path.Combine(outputFolder, StateFile));

    public static void Save(string outputFolder, int step, string settings, ModelTensors weights, ModelTensors m, ModelTensors v)
    {
        var name = $"checkpoint-{step}";
        var folder = Path.Combine(outputFolder, name);
        Directory.CreateDirectory(folder);
        weights.Write(Path.Combine(folder, Weights), ScalarType.F32);
        m.Write(Path.Combine(folder, FirstMoment), ScalarType.F32);
        v.Write(Path.Combine(folder, SecondMoment), ScalarType.F32);
        var previous = Exists(outputFolder) ? ReadState(outputFolder).Folder : null;
        AtomicFile.Write(Path.Combine(outputFolder, StateFile), Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new State(step, name, settings))));
        if (previous != null && previous != name) Directory.Delete(Path.Combine(outputFolder, previous), recursive: true);
    }

    /// <summary>The step reached and the tensors, after checking the run's settings are those it was saved with.</summary>
    public static int Load(string outputFolder, string settings, LlamaConfig config, out ModelTensors weights, out ModelTensors m, out ModelTensors v)
    {
        var state = ReadState(outputFolder);
        if (state.Settings != settings)
            throw new DromedaryException($"{Path.Combine(outputFolder, StateFile)}: saved with {state.Settings}; this run asks for {settings}. Resume with the same settings.");
        var folder = Path.Combine(outputFolder, state.Folder);
        weights = ModelTensors.Read(config, Path.Combine(folder, Weights));
        m = ModelTensors.Read(config, Path.Combine(folder, FirstMoment));
        v = ModelTensors.Read(config, Path.Combine(folder, SecondMoment));
        return state.Step;
    }

    private static State ReadState(string outputFolder)
    {
        var path = Path.Combine(outputFolder, StateFile);
        try
        {
            return JsonSerializer.Deserialize<State>(File.ReadAllText(path)) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new DromedaryException($"{path}: not a pretraining checkpoint state ({e.Message}).");
        }
    }
}
