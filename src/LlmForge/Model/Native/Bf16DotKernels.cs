using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using static LlmForge.Model.Native.X64Assembler;

namespace LlmForge.Model.Native;

/// <summary>
/// bf16 products by AVX-512 BF16's <c>vdpbf16ps</c>, which multiplies 16 pairs of bf16 values and adds both products
/// of each pair to an fp32 sum in one instruction. Widening bf16 to fp32 and using fp32 multiply-adds takes four
/// instructions for the same work, which made a decoding step of several sequences compute-bound. .NET has no
/// intrinsic for the instruction, so the kernels are assembled here (<see cref="X64Assembler"/>) when first used.
/// </summary>
/// <remarks>
/// <see cref="Available"/> on Linux x64 processors with AVX-512 BF16 (Zen 4 and later, Cooper Lake, Sapphire Rapids);
/// elsewhere the callers keep their managed kernels. The instruction treats bf16 subnormals as zero and flushes
/// subnormal sums to zero: values under 1.2e-38, which a model's activations and weights do not reach in practice.
/// The kernels use only registers that both Linux's and Windows' conventions let a function overwrite (rax, rcx,
/// rdx, r8-r10, zmm0-zmm3, zmm16-zmm31), and take their arguments from one structure.
/// </remarks>
public static unsafe class Bf16DotKernels
{
    /// <summary>Inputs one call of <see cref="Panels"/> takes: one pair of accumulators each in zmm16-zmm31.</summary>
    public const int MaxInputs = 8;

    /// <summary>A kernel's arguments (its one parameter points here).</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct Arguments
    {
        public void* Weights;  // panels or rows, bf16
        public void* Inputs;   // interleaved pairs (panels) or one row (rows)
        public long Steps;     // column pairs a panel (panels) or 32-column blocks a row (rows)
        public float* Sums;    // 16 fp32 sums for each panel and input (panels) or one a row (rows)
        public long Count;     // panels or rows
    }

    static readonly bool Hardware = OperatingSystem.IsLinux() && Avx512F.IsSupported && Avx512BW.IsSupported
        && (X86Base.CpuId(7, 1).Eax & 1 << 5) != 0; // CPUID.(EAX=7, ECX=1):EAX bit 5 is AVX512_BF16

    /// <summary>The kernels' addresses: those for panels of 1-8 inputs, then the row kernel; null where none can run.</summary>
    static readonly Lazy<nint[]?> Code = new(() =>
    {
        if (!Hardware) return null;
        try { return [.. Enumerable.Range(1, MaxInputs).Select(n => ExecutableMemory.Place(PanelCode(n))), ExecutableMemory.Place(RowCode())]; }
        catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            return null; // a system that refuses executable pages (a hardened kernel): the managed kernels stay
        }
    });

    /// <summary>Whether this processor and system run the kernels (the first call assembles them).</summary>
    public static bool Available => Code.Value is not null;

    static readonly bool EnabledByDefault = Environment.GetEnvironmentVariable("LLMFORGE_BF16_DOT") != "0";
    [ThreadStatic] static bool? _enabled;

    /// <summary>
    /// Whether products on this thread use them (off to compare with the managed kernels; <c>LLMFORGE_BF16_DOT=0</c>
    /// turns them off everywhere). Setting it changes only the calling thread; it cannot turn on what is not <see cref="Available"/>.
    /// </summary>
    public static bool Enabled { get => (_enabled ?? EnabledByDefault) && Available; set => _enabled = value; }

    /// <summary>
    /// <paramref name="panels"/> panels of a bf16 weight (<see cref="DecodePanels"/>' <c>[panel][pair][16][2]</c>, from
    /// <paramref name="weights"/>) times <paramref name="inputs"/> inputs (1-8) given as <paramref name="pairs"/>:
    /// <c>[pair][8]</c> 32-bit words, each an input's two bf16 values of that column pair. Writes 16 sums for each
    /// panel and input to <paramref name="sums"/> (<c>[panel][input][16]</c>). Each input's sums take the same
    /// instructions in the same order whatever the other inputs.
    /// </summary>
    public static void Panels(int inputs, void* weights, uint* pairs, int steps, float* sums, int panels)
    {
        if (inputs is < 1 or > MaxInputs) throw new ArgumentOutOfRangeException(nameof(inputs));
        if (panels <= 0) return; // the kernel counts down to zero
        var arguments = new Arguments { Weights = weights, Inputs = pairs, Steps = steps, Sums = sums, Count = panels };
        ((delegate* unmanaged<Arguments*, void>)Kernels[inputs - 1])(&arguments);
    }

    /// <summary>
    /// <paramref name="rows"/> rows of a bf16 weight (<c>[rows][columns]</c> from <paramref name="weights"/>, columns a
    /// multiple of 32) times one bf16 input <paramref name="x"/>: each row's fp32 sum into <paramref name="sums"/>.
    /// </summary>
    public static void Rows(void* weights, ushort* x, int columns, float* sums, int rows)
    {
        if (columns % 32 != 0) throw new ArgumentException("columns must be a multiple of 32", nameof(columns));
        if (rows <= 0) return; // the kernel counts down to zero
        var arguments = new Arguments { Weights = weights, Inputs = x, Steps = columns / 32, Sums = sums, Count = rows };
        ((delegate* unmanaged<Arguments*, void>)Kernels[MaxInputs])(&arguments);
    }

    static nint[] Kernels => Code.Value ?? throw new PlatformNotSupportedException("the bf16 dot-product kernels need AVX-512 BF16 on Linux x64");

    // Field offsets in Arguments, as the machine code reads them.
    static readonly int WeightsAt = At(nameof(Arguments.Weights)), InputsAt = At(nameof(Arguments.Inputs)), StepsAt = At(nameof(Arguments.Steps)),
        SumsAt = At(nameof(Arguments.Sums)), CountAt = At(nameof(Arguments.Count));

    static int At(string field) => (int)Marshal.OffsetOf<Arguments>(field);

    /// <summary>
    /// The panel kernel for <paramref name="inputs"/> inputs. Each step is one 64-byte line of a panel (16 rows, one
    /// column pair); input b's pair is broadcast from memory to all 16 lanes. Steps alternate between two sums per
    /// input (zmm16+b, zmm24+b) so that two instructions per input are in flight; the two are added at the panel's end.
    /// </summary>
    internal static byte[] PanelCode(int inputs)
    {
        var a = new X64Assembler();
        var panel = Begin(a);
        var loop = new Label();
        var tail = new Label();
        var done = new Label();
        for (int b = 0; b < inputs; b++)
        {
            a.XorD(16 + b, 16 + b, 16 + b);
            a.XorD(24 + b, 24 + b, 24 + b);
        }
        a.Cmp(R8, 2);
        a.Jump(Condition.Less, tail);
        a.Bind(loop);
        a.PrefetchL2(Rcx, DecodePanels.PrefetchBytes);
        a.PrefetchL2(Rcx, DecodePanels.PrefetchBytes + 64);
        a.LoadZmm(0, Rcx, 0);
        for (int b = 0; b < inputs; b++) a.DotBf16Broadcast(16 + b, 0, Rdx, 4 * b);
        a.LoadZmm(1, Rcx, 64);
        for (int b = 0; b < inputs; b++) a.DotBf16Broadcast(24 + b, 1, Rdx, 4 * (MaxInputs + b));
        a.Add(Rcx, 128);
        a.Add(Rdx, 2 * 4 * MaxInputs);
        a.Sub(R8, 2);
        a.Cmp(R8, 2);
        a.Jump(Condition.GreaterOrEqual, loop);
        a.Bind(tail); // an odd last step
        a.Test(R8);
        a.Jump(Condition.Equal, done);
        a.LoadZmm(0, Rcx, 0);
        for (int b = 0; b < inputs; b++) a.DotBf16Broadcast(16 + b, 0, Rdx, 4 * b);
        a.Add(Rcx, 64);
        a.Bind(done);
        for (int b = 0; b < inputs; b++)
        {
            a.AddPs(16 + b, 16 + b, 24 + b);
            a.StoreZmm(R9, 64 * b, 16 + b);
        }
        a.Add(R9, 64 * inputs);
        return End(a, panel);
    }

    /// <summary>
    /// The row kernel: a row at a time, 32 columns (64 bytes) a step into four sums (zmm16-zmm19) in turn, the input's
    /// block in a register and the weight's from memory; at the row's end the four are added and the 16 lanes summed
    /// (here rather than by the caller, so that the work overlaps the next row's loads: 1-1.6 ms a gpt2-small token otherwise).
    /// </summary>
    /// <summary>
    /// How far ahead of a row kernel's loads the weights are asked into L2 (<c>prefetcht1</c>). On this project's machine
    /// (2026-11-29, gpt2-small's bf16 products, one thread) 2-4 KB ahead took them from 12.3-13.5 ms to 11.0-12.1; 8 and
    /// 16 KB were slower than none.
    /// </summary>
    const int RowPrefetchBytes = 4096;

    internal static byte[] RowCode()
    {
        var a = new X64Assembler();
        var row = Begin(a);
        var loop = new Label();
        var tail = new Label();
        var single = new Label();
        var done = new Label();
        for (int s = 0; s < 4; s++) a.XorD(16 + s, 16 + s, 16 + s);
        a.Cmp(R8, 4);
        a.Jump(Condition.Less, tail);
        a.Bind(loop);
        for (int s = 0; s < 4; s++) a.PrefetchL2(Rcx, RowPrefetchBytes + 64 * s);
        for (int s = 0; s < 4; s++)
        {
            a.LoadZmm(s, Rdx, 64 * s);
            a.DotBf16(16 + s, s, Rcx, 64 * s);
        }
        a.Add(Rcx, 256);
        a.Add(Rdx, 256);
        a.Sub(R8, 4);
        a.Cmp(R8, 4);
        a.Jump(Condition.GreaterOrEqual, loop);
        a.Bind(tail); // up to three last steps, into the first sum
        a.Test(R8);
        a.Jump(Condition.Equal, done);
        a.Bind(single);
        a.LoadZmm(0, Rdx, 0);
        a.DotBf16(16, 0, Rcx, 0);
        a.Add(Rcx, 64);
        a.Add(Rdx, 64);
        a.Dec(R8);
        a.Jump(Condition.NotEqual, single);
        a.Bind(done);
        a.AddPs(16, 16, 17);
        a.AddPs(18, 18, 19);
        a.AddPs(16, 16, 18);
        // The 16 lanes' total, by halving: swap 256-bit halves and add, then 128-bit blocks, then pairs, then neighbours.
        a.ShuffleBlocks(1, 16, 16, 0b01_00_11_10);
        a.AddPs(16, 16, 1);
        a.ShuffleBlocks(1, 16, 16, 0b10_11_00_01);
        a.AddPs(16, 16, 1);
        a.PermuteInBlocks(1, 16, 0b01_00_11_10);
        a.AddPs(16, 16, 1);
        a.PermuteInBlocks(1, 16, 0b10_11_00_01);
        a.AddPs(16, 16, 1);
        a.StoreFloat(R9, 0, 16);
        a.Add(R9, 4);
        return End(a, row);
    }

    /// <summary>
    /// A kernel's start: the arguments' address into rax (first parameter: rdi on Linux, rcx on Windows), then weights
    /// (rcx), sums (r9) and count (r10); then, at the returned label, where each panel or row starts again, the inputs
    /// (rdx) and the steps (r8).
    /// </summary>
    static Label Begin(X64Assembler a)
    {
        a.Mov(Rax, OperatingSystem.IsWindows() ? Rcx : Rdi);
        a.Load(Rcx, Rax, WeightsAt);
        a.Load(R9, Rax, SumsAt);
        a.Load(R10, Rax, CountAt);
        var unit = new Label();
        a.Bind(unit);
        a.Load(Rdx, Rax, InputsAt);
        a.Load(R8, Rax, StepsAt);
        return unit;
    }

    /// <summary>A kernel's end: back to <paramref name="unit"/> until the count is done, then return.</summary>
    static byte[] End(X64Assembler a, Label unit)
    {
        a.Dec(R10);
        a.Jump(Condition.NotEqual, unit);
        a.VZeroUpper();
        a.Ret();
        return a.ToArray();
    }
}
