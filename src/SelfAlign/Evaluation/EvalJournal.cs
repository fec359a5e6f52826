using System.Text;
using System.Text.Json;
using Dromedary.Model.Safetensors;
using Dromedary.Training.Data;

namespace Dromedary.SelfAlign.Evaluation;

/// <summary>
/// The finished items of a run in progress, one JSON line each after a first line with the run's settings,
/// appended and flushed as each item finishes, so a stopped run resumes where it was. Once it holds items, a run with other
/// settings refuses the file instead of mixing results; a torn last line (a crash mid-write) is dropped.
/// </summary>
internal sealed class EvalJournal : IDisposable
{
    private readonly string _path;
    private readonly StreamWriter _writer;

    private EvalJournal(string path, StreamWriter writer, IReadOnlyList<ItemResult> finished)
    {
        _path = path;
        _writer = writer;
        Finished = finished;
    }

    /// <summary>The items already done by an earlier, interrupted run with the same settings.</summary>
    public IReadOnlyList<ItemResult> Finished { get; }

    public static EvalJournal Open(string path, IReadOnlyDictionary<string, string?> settings)
    {
        var header = JsonSerializer.Serialize(settings, EvalJson.Lines);
        var finished = File.Exists(path) ? ReadFinished(path, header) : [];
        // Rewritten whole so that a torn last line is gone before anything is appended after it.
        var text = new StringBuilder(header).Append('\n');
        foreach (var item in finished) text.Append(JsonSerializer.Serialize(item, EvalJson.Lines)).Append('\n');
        AtomicFile.Write(path, Encoding.UTF8.GetBytes(text.ToString()));
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        return new EvalJournal(path, writer, finished);
    }

    public void Append(ItemResult item)
    {
        _writer.WriteLine(JsonSerializer.Serialize(item, EvalJson.Lines));
        _writer.Flush();
    }

    /// <summary>Closes and deletes the journal once the full result file is written.</summary>
    public void Complete()
    {
        _writer.Dispose();
        File.Delete(_path);
    }

    public void Dispose() => _writer.Dispose();

    private static List<ItemResult> ReadFinished(string path, string header)
    {
        var lines = File.ReadAllLines(path, Encoding.UTF8);
        // A journal without finished items (a run that failed at once) has nothing to lose: start it afresh.
        if (lines.Length <= 1) return [];
        if (lines[0] != header)
            throw new DromedaryException($"{path}: unfinished results of a run with other settings ({lines[0]}); rerun with those settings to resume, or delete the file.");
        var items = new List<ItemResult>();
        for (var i = 1; i < lines.Length; i++)
        {
            try
            {
                items.Add(JsonSerializer.Deserialize<ItemResult>(lines[i], EvalJson.Lines)!);
            }
            catch (JsonException) when (i == lines.Length - 1)
            {
                // A torn last line: that item is simply run again.
            }
            catch (JsonException e)
            {
                throw new DromedaryException($"{path}:{i + 1}: not a finished item ({JsonRecordFile.Reason(e)}); delete the file to start over.");
            }
        }
        return items;
    }
}
