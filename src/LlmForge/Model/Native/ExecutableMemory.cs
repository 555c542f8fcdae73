using System.Runtime.InteropServices;

namespace LlmForge.Model.Native;

/// <summary>
/// Machine code placed where the processor may run it (Linux): mapped writable, filled, then made read-and-execute,
/// never both writable and executable. The kernels live as long as the process, so the pages are never unmapped.
/// </summary>
static class ExecutableMemory
{
    const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;

    /// <summary>The address of a copy of <paramref name="code"/> that can be called.</summary>
    public static unsafe nint Place(byte[] code)
    {
        var length = (nuint)code.Length;
        nint pages = mmap(0, length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (pages == -1) throw new InvalidOperationException($"mapping {length} bytes for machine code failed (errno {Marshal.GetLastPInvokeError()})");
        code.CopyTo(new Span<byte>((void*)pages, code.Length));
        if (mprotect(pages, length, ProtRead | ProtExec) != 0)
            throw new InvalidOperationException($"making machine code executable failed (errno {Marshal.GetLastPInvokeError()})");
        return pages;
    }

    [DllImport("libc", SetLastError = true)]
    static extern nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc", SetLastError = true)]
    static extern int mprotect(nint address, nuint length, int protection);
}
