namespace Dromedary.Model.Generation;

/// <summary>
/// Stop strings matched on decoded text, so a stop split across tokens (or inside one) is still found. While
/// streaming, text that could be the start of a stop string is held back until it is known not to be one.
/// </summary>
public sealed class StopStrings(IReadOnlyList<string> stops)
{
    /// <summary>Where the first stop string starts in <paramref name="text"/>, or −1.</summary>
    public int FindStop(string text)
    {
        var first = -1;
        foreach (var stop in stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        return first;
    }

    /// <summary>How much of <paramref name="text"/> (which holds no stop) is safe to show: all but a tail that begins a stop.</summary>
    public int SafeLength(string text)
    {
        var held = 0;
        foreach (var stop in stops)
            for (var length = Math.Min(stop.Length - 1, text.Length); length > held; length--)
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    held = length;
                    break;
                }
        return text.Length - held;
    }
}
