using System.Security.Cryptography;
using System.Text;

namespace Dromedary.SelfAlign.Runs;

/// <summary>A short hash of a run's input texts, recorded in run.json so a resume with other inputs is refused.</summary>
public static class Fingerprint
{
    public static string Of(IEnumerable<string> texts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var text in texts)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(text));
            hash.AppendData([0]);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}
