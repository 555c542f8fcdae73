using System.Runtime.InteropServices;

namespace LlmForge;

/// <summary>
/// Refuses inputs that are not regular files. A device such as /dev/zero reports no size and never
/// ends (reading it whole runs out of memory), and merely opening a FIFO waits for a writer, so both
/// are turned away from their path alone, before anything opens them.
/// </summary>
public static class InputFile
{
    /// <summary>Throws a <see cref="BadInputException"/> when <paramref name="path"/> (links followed) is a device, FIFO or socket.</summary>
    /// <param name="expected">what the option wants, for the message: "a text file", "a model file".</param>
    public static void RequireRegular(string path, string expected)
    {
        string? kind = SpecialKind(path);
        if (kind != null) throw new BadInputException($"{path}: is {kind}, expected {expected}");
    }

    /// <summary>"a character device" and so on, or null for a regular file, a directory, or when the kind cannot be told.</summary>
    static string? SpecialKind(string path)
    {
        // .NET reports devices and pipes as ordinary files (FileAttributes.Normal), so ask the kernel:
        // statx's buffer has the same layout on every Linux architecture, unlike stat's.
        var buffer = new byte[256];
        try
        {
            if (Statx(AtFdCwd, path, 0, StatxType, buffer) != 0) return null; // missing or unreadable: the caller's open says why
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null; // not Linux, or a libc without statx: skip the check
        }
        if ((BitConverter.ToUInt32(buffer, 0) & StatxType) == 0) return null;
        int mode = BitConverter.ToUInt16(buffer, StxModeOffset) & 0xF000;
        return mode switch
        {
            0x2000 => "a character device",
            0x6000 => "a block device",
            0x1000 => "a FIFO (named pipe)",
            0xC000 => "a socket",
            _ => null,
        };
    }

    const int AtFdCwd = -100;
    const uint StatxType = 0x1;
    const int StxModeOffset = 28;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);
}
