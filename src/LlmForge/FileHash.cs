using System.Security.Cryptography;

namespace LlmForge;

/// <summary>Checksums of files on disk, streamed so that multi-gigabyte weights need no buffer.</summary>
public static class FileHash
{
    /// <summary>Lower-case hex SHA-256 of the file.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
