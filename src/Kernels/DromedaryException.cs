namespace Dromedary;

/// <summary>
/// An error the user can act on (bad file, wrong shape, unsupported model). The command line prints its
/// message alone and exits non-zero; any other exception is a bug in Dromedary.
/// </summary>
public sealed class DromedaryException : Exception
{
    public DromedaryException(string message) : base(message) { }

    public DromedaryException(string message, Exception inner) : base(message, inner) { }
}
