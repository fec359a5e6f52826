using System.Text;
using Dromedary.Kernels;

namespace Dromedary.SelfAlign.Jobs;

/// <summary>
/// The seed of one request: the run's seed mixed with a stable hash of the request's key, so a request samples the
/// same text whatever its position in the file, its batch, or which run (first or resumed) makes it.
/// </summary>
public static class RequestSeed
{
    public static ulong For(ulong runSeed, string key)
    {
        // FNV-1a over the UTF-8 bytes: fixed by its definition, unlike string.GetHashCode, which changes per process.
        var hash = 0xCBF29CE484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(key)) hash = (hash ^ b) * 0x100000001B3UL;
        return new SplitMix64(runSeed ^ hash).Next();
    }
}
