using System.Globalization;
using System.Text;

namespace LlmForge.Data;

/// <summary>Reads training text, refusing what is not usable text with a message that names the file.</summary>
public static class TextFile
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The most bytes a text input may have. A .NET string holds at most about 1.07 billion characters,
    /// so a larger file could never become one string; refusing it up front beats running out of memory.
    /// </summary>
    public const long MaxBytes = 1_000_000_000;

    /// <summary>The file's text; a missing, empty, special (device, FIFO), oversized, binary or non-UTF-8 file is a <see cref="BadInputException"/>.</summary>
    public static string ReadUtf8(string path)
    {
        if (Directory.Exists(path)) throw new BadInputException($"{path}: is a directory, expected a text file");
        if (!File.Exists(path)) throw new BadInputException($"{path}: no such file");
        InputFile.RequireRegular(path, "a text file");
        byte[] bytes = ReadBytes(path);
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

    /// <summary>The bytes the file has when opened: at most its size then, never more than <see cref="MaxBytes"/>.</summary>
    static byte[] ReadBytes(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            long length = stream.Length;
            if (length > MaxBytes)
                throw new BadInputException(string.Create(CultureInfo.InvariantCulture, $"{path}: {length:N0} bytes, more than the {MaxBytes:N0} a text file may have"));
            var bytes = new byte[length];
            int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            return read == bytes.Length ? bytes : bytes[..read]; // the file shrank meanwhile
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{path}: cannot be read ({e.Message})");
        }
    }
}
