namespace LlmForge.Generation;

/// <summary>
/// Ends streamed text at the first of some stop strings (OpenAI's <c>stop</c>), which is not part of the output.
/// Text that could still be the start of a stop string is held back until the next piece decides it.
/// </summary>
public sealed class StopSequences
{
    readonly string[] _stops;
    string _pending = "";

    public StopSequences(IEnumerable<string> stops)
    {
        _stops = stops.ToArray();
        if (_stops.Any(s => s.Length == 0)) throw new BadInputException("a stop sequence is empty");
    }

    /// <summary>True once a stop string has been seen; nothing more is to be emitted.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The part of the text so far that is certainly output.</summary>
    public string Add(string piece)
    {
        if (Stopped) return "";
        string text = _pending + piece;
        int at = -1;
        foreach (string stop in _stops)
        {
            int found = text.IndexOf(stop, StringComparison.Ordinal);
            if (found >= 0 && (at < 0 || found < at)) at = found;
        }
        if (at >= 0)
        {
            Stopped = true;
            _pending = "";
            return text[..at];
        }
        int hold = HeldLength(text);
        _pending = text[^hold..];
        return text[..^hold];
    }

    /// <summary>What was held back, once generation ended without a stop string.</summary>
    public string Finish()
    {
        string rest = Stopped ? "" : _pending;
        _pending = "";
        return rest;
    }

    /// <summary>The longest end of <paramref name="text"/> that begins some stop string.</summary>
    int HeldLength(string text)
    {
        int longest = 0;
        foreach (string stop in _stops)
            for (int length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
        return longest;
    }
}
