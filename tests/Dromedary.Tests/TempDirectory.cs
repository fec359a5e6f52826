namespace Dromedary.Tests;

/// <summary>A fresh folder under the system temp folder, deleted with everything in it on Dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "dromedary-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>The path of a file or folder inside this one.</summary>
    public string this[string name] => System.IO.Path.Combine(Path, name);

    /// <summary>A new subfolder, created.</summary>
    public string CreateSubdirectory(string name) => Directory.CreateDirectory(this[name]).FullName;

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}
