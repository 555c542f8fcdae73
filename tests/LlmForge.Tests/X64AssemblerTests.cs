using LlmForge.Model.Native;
using static LlmForge.Model.Native.X64Assembler;

namespace LlmForge.Tests;

/// <summary>
/// <see cref="X64Assembler"/>'s encodings against the bytes GNU as 2.x writes for the same instructions (Intel syntax,
/// assembled on this project's machine, 2026-11-29), one instruction at a time; and jumps to labels before and after.
/// </summary>
public sealed class X64AssemblerTests
{
    public static TheoryData<string, string> Instructions => new()
    {
        { "mov rax, rdi", "48 89 f8" },
        { "mov rax, rcx", "48 89 c8" },
        { "mov rcx, [rax]", "48 8b 08" },
        { "mov r9, [rax+0x18]", "4c 8b 48 18" },
        { "mov r10, [rax+0x20]", "4c 8b 50 20" },
        { "add rcx, 128", "48 81 c1 80 00 00 00" },
        { "add rdx, 64", "48 83 c2 40" },
        { "sub r8, 2", "49 83 e8 02" },
        { "cmp r8, 4", "49 83 f8 04" },
        { "test r8, r8", "4d 85 c0" },
        { "dec r10", "49 ff ca" },
        { "prefetcht1 [rcx+16384]", "0f 18 91 00 40 00 00" },
        { "prefetcht1 [r9+16384]", "41 0f 18 91 00 40 00 00" },
        { "vmovups zmm0, [rcx]", "62 f1 7c 48 10 01" },
        { "vmovups zmm1, [rcx+64]", "62 f1 7c 48 10 49 01" },
        { "vmovups zmm3, [rdx+0xc0]", "62 f1 7c 48 10 5a 03" },
        { "vmovups zmm2, [rcx+0x1000]", "62 f1 7c 48 10 51 40" }, // disp8 × 64
        { "vmovups [r9+0x40], zmm17", "62 c1 7c 48 11 49 01" },
        { "vaddps zmm16, zmm16, zmm24", "62 81 7c 40 58 c0" },
        { "vaddps zmm16, zmm16, zmm1", "62 e1 7c 40 58 c1" },
        { "vpxord zmm24, zmm24, zmm24", "62 01 3d 40 ef c0" },
        { "vdpbf16ps zmm17, zmm0, dword bcst [rdx+4]", "62 e2 7e 58 52 4a 01" },
        { "vdpbf16ps zmm24, zmm1, dword bcst [rdx+0x20]", "62 62 76 58 52 42 08" },
        { "vdpbf16ps zmm19, zmm3, [rcx+0xc0]", "62 e2 66 48 52 59 03" },
        { "vdpbf16ps zmm16, zmm0, zmm1", "62 e2 7e 48 52 c1" },
        { "vshuff32x4 zmm1, zmm16, zmm16, 0x4e", "62 b3 7d 40 23 c8 4e" },
        { "vpermilps zmm1, zmm16, 0xb1", "62 b3 7d 48 04 c8 b1" },
        { "vmovss [r9], xmm16", "62 c1 7e 08 11 01" },
        { "vzeroupper", "c5 f8 77" },
        { "ret", "c3" },
    };

    [Theory]
    [MemberData(nameof(Instructions))]
    public void EncodesAsGnuAsDoes(string instruction, string bytes)
    {
        var a = new X64Assembler();
        Emit(a, instruction);
        Assert.Equal(bytes, Convert.ToHexString(a.ToArray()).ToLowerInvariant().Chunk(2).Select(c => new string(c)).Aggregate((x, y) => x + " " + y));
    }

    [Fact]
    public void JumpsReachTheirLabelsBackwardAndForward()
    {
        var a = new X64Assembler();
        var back = new Label();
        var ahead = new Label();
        a.Bind(back);             // 0
        a.Dec(R10);               // 0-2
        a.Jump(Condition.NotEqual, back); // 3-8: 0f 85, back to 0 from 9: -9
        a.Jump(ahead);            // 9-13: e9, over the ret to 15 from 14: +1
        a.Ret();                  // 14
        a.Bind(ahead);
        a.Ret();                  // 15
        Assert.Equal("49ffca0f85f7ffffffe901000000c3c3", Convert.ToHexString(a.ToArray()).ToLowerInvariant());
        var unbound = new X64Assembler();
        unbound.Jump(new Label());
        Assert.Throws<InvalidOperationException>(() => unbound.ToArray());
        Assert.Throws<ArgumentException>(() => new X64Assembler().LoadZmm(0, 5, 0)); // rbp as a base needs a form not written here
    }

    /// <summary>The test's instruction, by the assembler method that writes it.</summary>
    static void Emit(X64Assembler a, string instruction)
    {
        switch (instruction)
        {
            case "mov rax, rdi": a.Mov(Rax, Rdi); break;
            case "mov rax, rcx": a.Mov(Rax, Rcx); break;
            case "mov rcx, [rax]": a.Load(Rcx, Rax, 0); break;
            case "mov r9, [rax+0x18]": a.Load(R9, Rax, 0x18); break;
            case "mov r10, [rax+0x20]": a.Load(R10, Rax, 0x20); break;
            case "add rcx, 128": a.Add(Rcx, 128); break;
            case "add rdx, 64": a.Add(Rdx, 64); break;
            case "sub r8, 2": a.Sub(R8, 2); break;
            case "cmp r8, 4": a.Cmp(R8, 4); break;
            case "test r8, r8": a.Test(R8); break;
            case "dec r10": a.Dec(R10); break;
            case "prefetcht1 [rcx+16384]": a.PrefetchL2(Rcx, 16384); break;
            case "prefetcht1 [r9+16384]": a.PrefetchL2(R9, 16384); break;
            case "vmovups zmm0, [rcx]": a.LoadZmm(0, Rcx, 0); break;
            case "vmovups zmm1, [rcx+64]": a.LoadZmm(1, Rcx, 64); break;
            case "vmovups zmm3, [rdx+0xc0]": a.LoadZmm(3, Rdx, 0xC0); break;
            case "vmovups zmm2, [rcx+0x1000]": a.LoadZmm(2, Rcx, 0x1000); break;
            case "vmovups [r9+0x40], zmm17": a.StoreZmm(R9, 0x40, 17); break;
            case "vaddps zmm16, zmm16, zmm24": a.AddPs(16, 16, 24); break;
            case "vaddps zmm16, zmm16, zmm1": a.AddPs(16, 16, 1); break;
            case "vpxord zmm24, zmm24, zmm24": a.XorD(24, 24, 24); break;
            case "vdpbf16ps zmm17, zmm0, dword bcst [rdx+4]": a.DotBf16Broadcast(17, 0, Rdx, 4); break;
            case "vdpbf16ps zmm24, zmm1, dword bcst [rdx+0x20]": a.DotBf16Broadcast(24, 1, Rdx, 0x20); break;
            case "vdpbf16ps zmm19, zmm3, [rcx+0xc0]": a.DotBf16(19, 3, Rcx, 0xC0); break;
            case "vdpbf16ps zmm16, zmm0, zmm1": a.DotBf16(16, 0, 1); break;
            case "vshuff32x4 zmm1, zmm16, zmm16, 0x4e": a.ShuffleBlocks(1, 16, 16, 0x4E); break;
            case "vpermilps zmm1, zmm16, 0xb1": a.PermuteInBlocks(1, 16, 0xB1); break;
            case "vmovss [r9], xmm16": a.StoreFloat(R9, 0, 16); break;
            case "vzeroupper": a.VZeroUpper(); break;
            case "ret": a.Ret(); break;
            default: throw new ArgumentException(instruction);
        }
    }
}
