namespace LlmForge.Model.Native;

/// <summary>
/// Encodes the few x86-64 instructions the bf16 dot-product kernels need (<see cref="Bf16DotKernels"/>): .NET has no
/// intrinsic for AVX-512 BF16's <c>vdpbf16ps</c>, so the kernels are written here as machine code. Encodings follow
/// Intel's Software Developer's Manual (volume 2): EVEX for the 512-bit instructions, REX.W for the 64-bit integer ones.
/// Memory operands are a base register plus a displacement (no index); bases must not be rsp, rbp, r12 or r13.
/// </summary>
public sealed class X64Assembler
{
    // General-purpose registers by number.
    public const int Rax = 0, Rcx = 1, Rdx = 2, Rbx = 3, Rsi = 6, Rdi = 7, R8 = 8, R9 = 9, R10 = 10, R11 = 11;

    readonly List<byte> _code = [];
    readonly List<(int At, Label Target)> _fixups = [];

    /// <summary>A place in the code: bound once, jumped to from before or after.</summary>
    public sealed class Label
    {
        internal int Position = -1;
    }

    /// <summary>The machine code, with every jump resolved.</summary>
    public byte[] ToArray()
    {
        var code = _code.ToArray();
        foreach (var (at, target) in _fixups)
        {
            if (target.Position < 0) throw new InvalidOperationException("a jump's label was never bound");
            BitConverter.TryWriteBytes(code.AsSpan(at, 4), target.Position - (at + 4));
        }
        return code;
    }

    public void Bind(Label label)
    {
        if (label.Position >= 0) throw new InvalidOperationException("a label was bound twice");
        label.Position = _code.Count;
    }

    // ---- 64-bit integer instructions ----

    /// <summary><c>mov destination, source</c> (registers).</summary>
    public void Mov(int destination, int source) => RexRegisters(0x89, source, destination);

    /// <summary><c>mov destination, qword [base + displacement]</c>.</summary>
    public void Load(int destination, int @base, int displacement)
    {
        Rex(destination, @base);
        _code.Add(0x8B);
        ModRmMemory(destination, @base, displacement, 1);
    }

    /// <summary><c>add register, immediate</c>.</summary>
    public void Add(int register, int immediate) => Arithmetic(0, register, immediate);

    /// <summary><c>sub register, immediate</c>.</summary>
    public void Sub(int register, int immediate) => Arithmetic(5, register, immediate);

    /// <summary><c>cmp register, immediate</c>.</summary>
    public void Cmp(int register, int immediate) => Arithmetic(7, register, immediate);

    /// <summary><c>test register, register</c>.</summary>
    public void Test(int register) => RexRegisters(0x85, register, register);

    /// <summary><c>dec register</c>.</summary>
    public void Dec(int register)
    {
        Rex(0, register);
        _code.Add(0xFF);
        _code.Add((byte)(0xC8 | register & 7));
    }

    /// <summary>Conditions of <see cref="Jump"/>: the second byte of the near jcc opcode.</summary>
    public enum Condition : byte { Equal = 0x84, NotEqual = 0x85, Less = 0x8C, GreaterOrEqual = 0x8D, Greater = 0x8F }

    /// <summary><c>jcc label</c> (a 32-bit displacement).</summary>
    public void Jump(Condition condition, Label target)
    {
        _code.Add(0x0F);
        _code.Add((byte)condition);
        Displacement32(target);
    }

    /// <summary><c>jmp label</c>.</summary>
    public void Jump(Label target)
    {
        _code.Add(0xE9);
        Displacement32(target);
    }

    /// <summary><c>prefetcht1 [base + displacement]</c>: the line into L2 (and L3), leaving L1's miss buffers to the loads.</summary>
    public void PrefetchL2(int @base, int displacement)
    {
        if (@base >= 8) _code.Add(0x41);
        _code.Add(0x0F);
        _code.Add(0x18);
        ModRmMemory(2, @base, displacement, 1); // 0F 18 /2; /1 would be prefetcht0
    }

    public void VZeroUpper() => _code.AddRange([0xC5, 0xF8, 0x77]);

    public void Ret() => _code.Add(0xC3);

    // ---- 512-bit instructions (zmm0-zmm31) ----

    /// <summary><c>vmovups zmm, [base + displacement]</c>.</summary>
    public void LoadZmm(int zmm, int @base, int displacement) => EvexMemory(0b01, 0b00, 0x10, zmm, 0, @base, displacement, broadcast: false);

    /// <summary><c>vmovups [base + displacement], zmm</c>.</summary>
    public void StoreZmm(int @base, int displacement, int zmm) => EvexMemory(0b01, 0b00, 0x11, zmm, 0, @base, displacement, broadcast: false);

    /// <summary><c>vaddps destination, first, second</c>.</summary>
    public void AddPs(int destination, int first, int second) => EvexRegisters(0b01, 0b00, 0x58, destination, first, second);

    /// <summary><c>vpxord destination, first, second</c> (with all three the same: zero).</summary>
    public void XorD(int destination, int first, int second) => EvexRegisters(0b01, 0b01, 0xEF, destination, first, second);

    /// <summary><c>vshuff32x4 destination, first, second, order</c>: 128-bit blocks, two from each source as <paramref name="order"/> picks.</summary>
    public void ShuffleBlocks(int destination, int first, int second, byte order)
    {
        EvexRegisters(0b11, 0b01, 0x23, destination, first, second);
        _code.Add(order);
    }

    /// <summary><c>vpermilps destination, source, order</c>: the four floats of each 128-bit block, as <paramref name="order"/> picks.</summary>
    public void PermuteInBlocks(int destination, int source, byte order)
    {
        EvexRegisters(0b11, 0b01, 0x04, destination, 0, source);
        _code.Add(order);
    }

    /// <summary><c>vmovss dword [base + displacement], xmm</c>: the lowest float of a register.</summary>
    public void StoreFloat(int @base, int displacement, int xmm) => EvexMemory(0b01, 0b10, 0x11, xmm, 0, @base, displacement, broadcast: false, scale: 4, length: 0b00);

    /// <summary>
    /// <c>vdpbf16ps sums, pairs, zmm</c>: each fp32 lane of <paramref name="sums"/> gains the two products of the bf16
    /// pair in that lane of <paramref name="pairs"/> with the pair in the same lane of <paramref name="other"/>.
    /// </summary>
    public void DotBf16(int sums, int pairs, int other) => EvexRegisters(0b10, 0b10, 0x52, sums, pairs, other);

    /// <summary><c>vdpbf16ps sums, pairs, [base + displacement]</c>: the other pairs from memory (64 bytes).</summary>
    public void DotBf16(int sums, int pairs, int @base, int displacement) => EvexMemory(0b10, 0b10, 0x52, sums, pairs, @base, displacement, broadcast: false);

    /// <summary><c>vdpbf16ps sums, pairs, dword [base + displacement]{1to16}</c>: one pair from memory, the same in every lane.</summary>
    public void DotBf16Broadcast(int sums, int pairs, int @base, int displacement) => EvexMemory(0b10, 0b10, 0x52, sums, pairs, @base, displacement, broadcast: true);

    // ---- encodings ----

    void Arithmetic(int extension, int register, int immediate)
    {
        Rex(0, register);
        bool small = immediate is >= sbyte.MinValue and <= sbyte.MaxValue;
        _code.Add(small ? (byte)0x83 : (byte)0x81);
        _code.Add((byte)(0xC0 | extension << 3 | register & 7));
        if (small) _code.Add((byte)(sbyte)immediate);
        else _code.AddRange(BitConverter.GetBytes(immediate));
    }

    /// <summary>An <c>op r/m64, r64</c> with both registers: REX.W, the opcode, ModRM.</summary>
    void RexRegisters(byte opcode, int reg, int rm)
    {
        Rex(reg, rm);
        _code.Add(opcode);
        _code.Add((byte)(0xC0 | (reg & 7) << 3 | rm & 7));
    }

    void Rex(int reg, int rm) => _code.Add((byte)(0x48 | (reg >> 3 & 1) << 2 | rm >> 3 & 1));

    void Displacement32(Label target)
    {
        if (target.Position >= 0) _code.AddRange(BitConverter.GetBytes(target.Position - (_code.Count + 4)));
        else
        {
            _fixups.Add((_code.Count, target));
            _code.AddRange([0, 0, 0, 0]);
        }
    }

    /// <summary>
    /// ModRM (and displacement) for <c>[base + displacement]</c>. A displacement that is a multiple of
    /// <paramref name="scale"/> (EVEX's disp8*N: the operand's size, or the element's when broadcast) fits a byte when the quotient does.
    /// </summary>
    void ModRmMemory(int reg, int @base, int displacement, int scale)
    {
        if ((@base & 7) is 4 or 5) throw new ArgumentException("rsp, rbp, r12 and r13 are not bases here", nameof(@base));
        int fields = (reg & 7) << 3 | @base & 7;
        if (displacement == 0) _code.Add((byte)fields);
        else if (displacement % scale == 0 && displacement / scale is >= sbyte.MinValue and <= sbyte.MaxValue)
        {
            _code.Add((byte)(0x40 | fields));
            _code.Add((byte)(sbyte)(displacement / scale));
        }
        else
        {
            _code.Add((byte)(0x80 | fields));
            _code.AddRange(BitConverter.GetBytes(displacement));
        }
    }

    /// <summary>
    /// The 4-byte EVEX prefix of an instruction, W0, no mask, 512 bits long unless <paramref name="length"/> says otherwise (0: scalar). <paramref name="map"/>: 1 = 0F, 2 = 0F38, 3 = 0F3A;
    /// <paramref name="prefix"/>: 0 = none, 1 = 66, 2 = F3. The R, X, B, R' and V' bits are stored inverted.
    /// </summary>
    void Evex(int map, int prefix, int reg, int vvvv, int rmHigh, bool broadcast, int length = 0b10)
    {
        _code.Add(0x62);
        _code.Add((byte)((~reg >> 3 & 1) << 7 | (~rmHigh >> 4 & 1) << 6 | (~rmHigh >> 3 & 1) << 5 | (~reg >> 4 & 1) << 4 | map));
        _code.Add((byte)((~vvvv & 15) << 3 | 0b100 | prefix));
        _code.Add((byte)(length << 5 | (broadcast ? 1 : 0) << 4 | (~vvvv >> 4 & 1) << 3));
    }

    void EvexRegisters(int map, int prefix, byte opcode, int reg, int vvvv, int rm)
    {
        Evex(map, prefix, reg, vvvv, rm, broadcast: false);
        _code.Add(opcode);
        _code.Add((byte)(0xC0 | (reg & 7) << 3 | rm & 7));
    }

    void EvexMemory(int map, int prefix, byte opcode, int reg, int vvvv, int @base, int displacement, bool broadcast, int scale = 64, int length = 0b10)
    {
        // A memory operand has no index: X stays clear (bit 4 of rmHigh is 0); B extends the base.
        Evex(map, prefix, reg, vvvv, @base & 8, broadcast, length);
        _code.Add(opcode);
        ModRmMemory(reg, @base, displacement, broadcast ? 4 : scale);
    }
}
