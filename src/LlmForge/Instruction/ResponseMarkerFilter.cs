namespace LlmForge.Instruction;

/// <summary>
/// Takes a streamed response apart from the <c>### Response:</c> line an instruction model writes first (chapter 7):
/// the marker and the white space around it are held back and dropped, everything after passes unchanged.
/// </summary>
public sealed class ResponseMarkerFilter
{
    readonly System.Text.StringBuilder _held = new();
    bool _started;

    /// <summary>The part of <paramref name="piece"/> that belongs to the response (empty while the start is still undecided).</summary>
    public string Add(string piece)
    {
        if (_started) return piece;
        _held.Append(piece);
        string text = _held.ToString().TrimStart();
        // Still possibly the start of the marker the model writes first: wait for more.
        if (AlpacaPrompt.ResponseMarker.StartsWith(text, StringComparison.Ordinal)) return "";
        if (text.StartsWith(AlpacaPrompt.ResponseMarker, StringComparison.Ordinal)) text = text[AlpacaPrompt.ResponseMarker.Length..].TrimStart();
        if (text.Length == 0) return "";
        _started = true;
        return text;
    }
}
