using System.Buffers;
using System.Text.Unicode;

namespace LlmForge.Text;

/// <summary>
/// UTF-8 that also carries lone surrogates (WTF-8): a surrogate without its partner is written as
/// the three bytes its code unit would take. Microsoft.ML.Tokenizers encodes them this way, so GPT-2
/// ids of such (invalid) text agree; valid text gives exactly its UTF-8 bytes.
/// </summary>
public static class Wtf8
{
    /// <summary>Writes <paramref name="text"/> into <paramref name="bytes"/> (at least 3 bytes per char); returns the byte count.</summary>
    public static int GetBytes(ReadOnlySpan<char> text, Span<byte> bytes)
    {
        if (Utf8.FromUtf16(text, bytes, out _, out int written, replaceInvalidSequences: false) == OperationStatus.Done)
            return written;
        written = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                written += Utf8.FromUtf16(text.Slice(i, 2), bytes[written..], out _, out int pair) == OperationStatus.Done ? pair : 0;
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                bytes[written++] = (byte)(0xE0 | (c >> 12));
                bytes[written++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                bytes[written++] = (byte)(0x80 | (c & 0x3F));
            }
            else
            {
                Utf8.FromUtf16(text.Slice(i, 1), bytes[written..], out _, out int one);
                written += one;
            }
        }
        return written;
    }
}
