using System.Text;

namespace LlmForge.Data;

/// <summary>Reads training text, refusing what is not usable text with a message that names the file.</summary>
public static class TextFile
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The file's text; a missing, empty, binary or non-UTF-8 file is a <see cref="BadInputException"/>.</summary>
    public static string ReadUtf8(string path)
    {
        if (Directory.Exists(path)) throw new BadInputException($"{path}: is a directory, expected a text file");
        if (!File.Exists(path)) throw new BadInputException($"{path}: no such file");
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0) throw new BadInputException($"{path}: the file is empty");
        int nul = Array.IndexOf(bytes, (byte)0);
        if (nul >= 0) throw new BadInputException($"{path}: not text (a NUL byte at offset {nul})");
        try
        {
            string text = StrictUtf8.GetString(bytes);
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (DecoderFallbackException e)
        {
            throw new BadInputException($"{path}: not UTF-8 text (invalid byte at offset {e.Index})");
        }
    }
}
