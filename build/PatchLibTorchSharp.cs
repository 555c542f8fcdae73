// An MSBuild task, compiled by RoslynCodeTaskFactory from this file (see TorchSharpOnOldLinux.targets).
//
// TorchSharp's native shim libLibTorchSharp.so is built with GCC 13. Its <iostream> use makes it
// import std::ios_base_library_init() at symbol version GLIBCXX_3.4.32, which libstdc++ only has
// from GCC 13 on. On Debian 12 or Ubuntu 22.04 the loader then refuses the shim and TorchSharp
// cannot start. No relocation uses the symbol; it only ties the library to that version. So where
// the system libstdc++ lacks a version the shim needs, this task writes a copy of the shim in which
//   1. the missing version requirements are marked weak (VER_FLG_WEAK): the loader then accepts
//      their absence, and
//   2. each symbol that asked for a missing version (only known-harmless ones are allowed) is
//      renamed to an ordinary libc function the shim already imports, and made unversioned.
// System files are never touched: only the copy in the build output is rewritten.
// Neither change touches code or unwind tables: libtorch errors still reach .NET as exceptions
// (tests/LlmForge.Tests/NativeErrorTests.cs); matmul's abort on a shape error is TorchSharp's own.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;

public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
{
    /// <summary>The shim in the build output, rewritten in place when a patch is needed.</summary>
    [Required]
    public string Library { get; set; } = "";

    // Symbols that may lose their version: imported only to tie a library to a version.
    static readonly string[] HarmlessSymbols = { "_ZSt21ios_base_library_initv" };

    const uint ShtDynsym = 11, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;
    const ushort VerFlgWeak = 0x2;

    public override bool Execute()
    {
        if (!File.Exists(Library)) return true;
        string? libstdcxx = FindSystemLibStdCxx();
        if (libstdcxx == null)
        {
            Log.LogMessage(MessageImportance.Low, "No system libstdc++.so.6 found; leaving {0} as it is.", Library);
            return true;
        }
        byte[] system = File.ReadAllBytes(libstdcxx);
        byte[] elf = File.ReadAllBytes(Library);
        try
        {
            var changes = Patch(elf, version => Contains(system, Encoding.ASCII.GetBytes(version + "\0")));
            if (changes.Count == 0) return true;
            string temporary = Library + ".patching";
            File.WriteAllBytes(temporary, elf);
            File.Replace(temporary, Library, null); // a rename: a running process keeps its old mapping
            Log.LogMessage(MessageImportance.High,
                "LlmForge: {0} lacks {1}; patched {2} so that TorchSharp loads here.",
                libstdcxx, string.Join(", ", changes), Path.GetFileName(Library));
            return true;
        }
        catch (InvalidDataException e)
        {
            Log.LogError("LlmForge: cannot adapt {0} to {1}: {2}", Library, libstdcxx, e.Message);
            return false;
        }
    }

    /// <summary>Rewrites <paramref name="elf"/> in place; returns the versions it made weak.</summary>
    static List<string> Patch(byte[] elf, Func<string, bool> systemHasVersion)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is handled");

        long shoff = (long)U64(elf, 0x28);
        int shentsize = U16(elf, 0x3a), shnum = U16(elf, 0x3c);
        var sections = Enumerable.Range(0, shnum).Select(i => Section.Read(elf, shoff + (long)i * shentsize)).ToArray();
        var dynsym = sections.Single(s => s.Type == ShtDynsym);
        var dynstr = sections[(int)dynsym.Link];
        var versym = sections.Single(s => s.Type == ShtGnuVersym);
        var verneed = sections.SingleOrDefault(s => s.Type == ShtGnuVerneed);
        if (verneed == null) return new List<string>();

        string Str(uint offset) => ReadCString(elf, dynstr.Offset + offset);

        // 1. Mark missing libstdc++ versions weak, remembering their version indexes.
        var missing = new Dictionary<ushort, string>();
        long need = verneed.Offset;
        while (true)
        {
            ushort count = U16(elf, need + 2);
            string file = Str(U32(elf, need + 4));
            long aux = need + U32(elf, need + 8);
            for (int i = 0; i < count; i++)
            {
                string version = Str(U32(elf, aux + 8));
                if (file == "libstdc++.so.6" && !systemHasVersion(version))
                {
                    ushort flags = U16(elf, aux + 4);
                    W16(elf, aux + 4, (ushort)(flags | VerFlgWeak));
                    missing[U16(elf, aux + 6)] = version;
                }
                uint next = U32(elf, aux + 12);
                if (next == 0) break;
                aux += next;
            }
            uint nextNeed = U32(elf, need + 12);
            if (nextNeed == 0) break;
            need += nextNeed;
        }
        if (missing.Count == 0) return new List<string>();

        // 2. Redirect the symbols that asked for those versions to a plain libc import.
        int symbols = (int)(dynsym.Size / 24);
        uint? harmlessName = null;
        for (int i = 1; i < symbols && harmlessName == null; i++)
        {
            long sym = dynsym.Offset + i * 24L;
            ushort index = (ushort)(U16(elf, versym.Offset + i * 2L) & 0x7fff);
            bool undefinedFunction = U16(elf, sym + 6) == 0 && (elf[sym + 4] & 0xf) == 2;
            if (undefinedFunction && index > 1 && VersionName(elf, verneed, Str, index) == "GLIBC_2.2.5")
                harmlessName = U32(elf, sym);
        }
        if (harmlessName == null) throw new InvalidDataException("no libc function import to redirect to");
        for (int i = 1; i < symbols; i++)
        {
            long versymEntry = versym.Offset + i * 2L;
            if (!missing.ContainsKey((ushort)(U16(elf, versymEntry) & 0x7fff))) continue;
            long sym = dynsym.Offset + i * 24L;
            string name = Str(U32(elf, sym));
            if (!HarmlessSymbols.Contains(name))
                throw new InvalidDataException($"symbol {name} needs {missing[(ushort)(U16(elf, versymEntry) & 0x7fff)]}, which this system lacks");
            W32(elf, sym, harmlessName.Value);
            W16(elf, versymEntry, 1); // VER_NDX_GLOBAL
        }
        return missing.Values.ToList();
    }

    static string? VersionName(byte[] elf, Section verneed, Func<uint, string> str, ushort index)
    {
        long need = verneed.Offset;
        while (true)
        {
            long aux = need + U32(elf, need + 8);
            for (int i = 0; i < U16(elf, need + 2); i++)
            {
                if (U16(elf, aux + 6) == index) return str(U32(elf, aux + 8));
                aux += U32(elf, aux + 12);
            }
            uint next = U32(elf, need + 12);
            if (next == 0) return null;
            need += next;
        }
    }

    static string? FindSystemLibStdCxx()
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        return candidates.FirstOrDefault(File.Exists);
    }

    static bool Contains(byte[] haystack, byte[] needle)
    {
        // The task factory compiles against netstandard2.0, which has no span search.
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    static string ReadCString(byte[] b, long at)
    {
        long end = at;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, (int)(end - at));
    }

    static ushort U16(byte[] b, long at) => BitConverter.ToUInt16(b, (int)at);
    static uint U32(byte[] b, long at) => BitConverter.ToUInt32(b, (int)at);
    static ulong U64(byte[] b, long at) => BitConverter.ToUInt64(b, (int)at);
    static void W16(byte[] b, long at, ushort v) => BitConverter.GetBytes(v).CopyTo(b, (int)at);
    static void W32(byte[] b, long at, uint v) => BitConverter.GetBytes(v).CopyTo(b, (int)at);

    sealed class Section
    {
        public uint Type;
        public uint Link;
        public long Offset;
        public long Size;

        public static Section Read(byte[] elf, long at) => new Section
        {
            Type = U32(elf, at + 4),
            Offset = (long)U64(elf, at + 24),
            Size = (long)U64(elf, at + 32),
            Link = U32(elf, at + 40),
        };
    }
}
