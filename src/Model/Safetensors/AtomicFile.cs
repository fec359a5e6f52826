namespace Dromedary.Model.Safetensors;

/// <summary>
/// Writes go to "path.tmp", are synced to disk, then renamed over path: a crash leaves the old file or the new
/// one, never half of one under the final name.
/// </summary>
internal static class AtomicFile
{
    public static string TempPath(string path) => path + ".tmp";

    public static FileStream Create(string path)
    {
        try
        {
            return new FileStream(TempPath(path), FileMode.Create, FileAccess.Write, FileShare.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DromedaryException($"{path}: cannot create {TempPath(path)}: {ex.Message}", ex);
        }
    }

    public static void Append(FileStream stream, string path, ReadOnlySpan<byte> data)
    {
        try
        {
            stream.Write(data);
        }
        catch (IOException ex)
        {
            throw new DromedaryException($"{path}: cannot write {TempPath(path)}: {ex.Message}", ex);
        }
    }

    /// <summary>Syncs and closes the stream made by Create, then moves it to path.</summary>
    public static void Commit(FileStream stream, string path)
    {
        try
        {
            stream.Flush(flushToDisk: true);
            stream.Dispose();
            File.Move(TempPath(path), path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DromedaryException($"{path}: cannot finish writing: {ex.Message}", ex);
        }
    }

    public static void Write(string path, ReadOnlySpan<byte> contents)
    {
        var stream = Create(path);
        try
        {
            Append(stream, path, contents);
            Commit(stream, path);
        }
        catch
        {
            stream.Dispose();
            File.Delete(TempPath(path));
            throw;
        }
    }
}
