using Spectre.Console.Cli;

namespace Dromedary.Runner;

/// <summary>
/// Turns an exception into a one-line message on stderr and an exit code. Bad input is the user's to fix and
/// never shows a stack trace; anything else is our bug, and DROMEDARY_DEBUG=1 shows its trace.
/// </summary>
internal static class ErrorReport
{
    public const int InputError = 1;
    public const int UsageError = 2;
    public const int InternalError = 70;

    public static int Print(Exception exception)
    {
        var inner = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        var (message, code) = inner switch
        {
            DromedaryException e => (e.Message, InputError),
            CommandAppException e => (e.Message, UsageError),
            IOException or UnauthorizedAccessException => (inner.Message, InputError),
            OutOfMemoryException => ("out of memory; try a smaller model, --precision int8 or a shorter text.", InputError),
            _ => ($"internal error ({inner.GetType().Name}): {inner.Message}. Set DROMEDARY_DEBUG=1 to see where.", InternalError),
        };
        Console.Error.WriteLine($"error: {message}");
        if (Environment.GetEnvironmentVariable("DROMEDARY_DEBUG") == "1") Console.Error.WriteLine(inner);
        return code;
    }
}
