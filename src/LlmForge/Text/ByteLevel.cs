namespace LlmForge.Text;

/// <summary>
/// GPT-2's reversible map between bytes and printable characters: printable Latin-1 bytes stand
/// for themselves, the others are shifted to U+0100 onwards, so that every byte string is a
/// string of visible characters (the form <c>encoder.json</c> and <c>vocab.bpe</c> are written in).
/// </summary>
public static class ByteLevel
{
    static readonly char[] ByteToChar = BuildTable();
    static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    static char[] BuildTable()
    {
        var table = new char[256];
        var printable = new bool[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int shifted = 0;
        for (int b = 0; b < 256; b++)
            table[b] = printable[b] ? (char)b : (char)(256 + shifted++);
        return table;
    }

    public static string ToUnicode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>The bytes a byte-level string stands for; null when a character is not in the table.</summary>
    public static byte[]? ToBytes(string text)
    {
        var bytes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!CharToByte.TryGetValue(text[i], out byte b)) return null;
            bytes[i] = b;
        }
        return bytes;
    }
}
