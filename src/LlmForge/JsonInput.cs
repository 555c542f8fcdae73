using System.Text.Json;

namespace LlmForge;

/// <summary>JSON from a user's file: malformed text is bad input naming the file, the line and byte, and why.</summary>
public static class JsonInput
{
    /// <param name="hint">what the file should hold, added to the message (<c>expected a JSON array of entries</c>).</param>
    public static JsonDocument Parse(string text, string source, string? hint = null)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            // .NET's message: the reason, then its own path and advice about reader options, which a user does not need.
            string reason = e.Message;
            int cut = reason.IndexOf(". ", StringComparison.Ordinal);
            if (cut >= 0) reason = reason[..cut];
            reason = reason.TrimEnd().TrimEnd('.');
            // The reader counts lines and bytes from 0.
            string where = e.LineNumber is long line ? $"line {line + 1}, byte {e.BytePositionInLine + 1}: " : "";
            throw new BadInputException($"{source}: not valid JSON ({where}{reason}){(hint != null ? "; " + hint : "")}");
        }
    }
}
