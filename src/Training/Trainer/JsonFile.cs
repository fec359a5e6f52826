using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dromedary.Model.Safetensors;

namespace Dromedary.Training.Trainer;

/// <summary>The trainer's small JSON files: written atomically, read with the file named in any error.</summary>
internal static class JsonFile
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Write(string path, JsonNode node) => AtomicFile.Write(path, Encoding.UTF8.GetBytes(node.ToJsonString(Indented) + "\n"));

    public static JsonNode Read(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(path)) ?? throw new JsonException("null instead of an object");
        }
        catch (JsonException e)
        {
            throw new DromedaryException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }
}
