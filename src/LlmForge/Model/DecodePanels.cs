using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlmForge.Model.Native;

namespace LlmForge.Model;

/// <summary>
/// Copies of the weights in panel order, for decoding steps of several sequences (<see cref="DecodeLinear"/>). A panel is
/// 16 output rows of W stored column by column, so one cache line holds one column of the panel: each weight read feeds
/// 16 outputs of every sequence (a broadcast input, 16 accumulators a sequence), and the whole product is one forward
/// stream that software prefetching can run ahead of. Reading W row by row instead, each row's dot products want their
/// inputs loaded again and the core falls behind the memory. On this project's 2-core Zen 4 (2026-11-29, gpt2-small's
/// 73 products, one thread): eight sequences took 33-42 ms a step this way against 66-90 ms row by row, and four
/// 27-31 ms against 44-55 (one sequence alone: 24-28 ms row by row; one row in panels runs the kernel for four).
/// Every row goes through the same sums in the same order, however many rows a step has: a sequence's results do
/// not depend on the others in its steps.
/// </summary>
/// <remarks>
/// A weight is copied the first time a step multiplies by it, so the weights' memory is taken once more while this
/// lives (a weight whose copy would take most of the memory left is read as it lies). The owner (a batch of
/// generations) promises the weights do not change meanwhile: a copy is found again by the address of the weight's data.
/// </remarks>
public sealed unsafe class DecodePanels : IDisposable
{
    /// <summary>Output rows a panel holds: two 256-bit vectors of fp32.</summary>
    public const int Width = 16;

    /// <summary>
    /// How far ahead of the product the next weights are asked into L2 (<c>prefetcht1</c>, here and in
    /// <see cref="Native.Bf16DotKernels"/>). Into L1 (<c>prefetcht0</c>) each request holds one of the core's few L1
    /// miss buffers until its line arrives, and the panels streamed at 14 GB/s whatever the distance; into L2 the loads
    /// keep theirs. On this project's machine (2026-11-29, gpt2-small, eight inputs, one thread) an fp32 step's panels
    /// took 26.4-27.8 ms at 16-32 KB ahead into L2 against 32.9-35.2 at 4 KB into L1; bf16 with vdpbf16ps 15.4-17.4
    /// against 18.9-19.5.
    /// </summary>
    internal const int PrefetchBytes = 16384;

    /// <summary>A weight in panels: fp32 as <c>[panel][column][16]</c>; bf16 as <c>[panel][column pair][16][2]</c> (columns padded to even).</summary>
    internal sealed record Packed(nint Data, int Rows, int Columns, bool Bf16)
    {
        public int Panels => (Rows + Width - 1) / Width;

        /// <summary>bf16 columns taken two at a time (the last padded).</summary>
        public int Pairs => (Columns + 1) / 2;

        public long Bytes => Bf16 ? (long)Panels * Pairs * Width * 2 * sizeof(ushort) : (long)Panels * Columns * Width * sizeof(float);
    }

    readonly Dictionary<nint, Packed?> _packed = []; // null: the copy would not fit in memory
    bool _disposed;

    /// <summary>Bytes the copies take.</summary>
    public long Bytes
    {
        get { lock (_packed) return _packed.Values.Sum(p => p?.Bytes ?? 0); }
    }

    /// <summary>
    /// The panels of the weight at <paramref name="weight"/> (<c>[rows, columns]</c>, fp32 or bf16), copied on first use;
    /// null (the weight is then read as it lies) where the copy would take most of the memory left.
    /// </summary>
    internal Packed? For(nint weight, int rows, int columns, bool bf16)
    {
        lock (_packed)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_packed.TryGetValue(weight, out var known) && (known is null || known.Rows == rows && known.Columns == columns && known.Bf16 == bf16))
                return known;
            if (known is not null) NativeMemory.AlignedFree((void*)known.Data);
            var shape = new Packed(0, rows, columns, bf16);
            var packed = shape.Bytes > MemoryBudget.AvailableBytes() * 0.8 ? null
                : bf16 ? PackBf16((ushort*)weight, shape) : PackF32((float*)weight, shape);
            _packed[weight] = packed;
            return packed;
        }
    }

    static Packed PackF32(float* w, Packed shape)
    {
        int panels = shape.Panels, rows = shape.Rows, columns = shape.Columns;
        var p = (float*)NativeMemory.AlignedAlloc((nuint)shape.Bytes, 64);
        // A panel's 16 rows (under 200 KB) stay in cache while they are turned into columns.
        for (int q = 0; q < panels; q++)
        {
            float* panel = p + (long)q * columns * Width;
            for (int j = 0; j < Width; j++)
            {
                int r = q * Width + j;
                float* row = w + (long)r * columns;
                for (int k = 0; k < columns; k++) panel[k * Width + j] = r < rows ? row[k] : 0;
            }
        }
        return shape with { Data = (nint)p };
    }

    static Packed PackBf16(ushort* w, Packed shape)
    {
        int panels = shape.Panels, pairs = shape.Pairs, rows = shape.Rows, columns = shape.Columns;
        var p = (ushort*)NativeMemory.AlignedAlloc((nuint)shape.Bytes, 64);
        for (int q = 0; q < panels; q++)
        {
            ushort* panel = p + (long)q * pairs * Width * 2;
            for (int j = 0; j < Width; j++)
            {
                int r = q * Width + j;
                ushort* row = w + (long)r * columns;
                for (int k = 0; k < 2 * pairs; k++) panel[(k / 2) * Width * 2 + j * 2 + k % 2] = r < rows && k < columns ? row[k] : (ushort)0;
            }
        }
        return shape with { Data = (nint)p };
    }

    /// <summary>Frees the copies.</summary>
    public void Dispose()
    {
        lock (_packed)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var packed in _packed.Values)
                if (packed is not null) NativeMemory.AlignedFree((void*)packed.Data);
            _packed.Clear();
        }
    }

    /// <summary>
    /// Panels [start, end) of <paramref name="w"/> times up to 8 inputs (fp32, <paramref name="stride"/> apart, bf16 weights'
    /// columns padded to even with zeros), into <paramref name="y"/> (<c>[count][rows]</c>, fp32 or bf16 as the weights)
    /// plus the bias. Four inputs or fewer take a kernel of four (a short group repeats its last input and writes only its own).
    /// </summary>
    internal static void Multiply(Packed w, float* x, int stride, int count, void* y, float* bias, int start, int end)
    {
        var inputs = stackalloc float*[8];
        for (int b = 0; b < 8; b++) inputs[b] = x + Math.Min(b, count - 1) * stride;
        var sums = stackalloc float[8 * Width];
        for (int q = start; q < end; q++)
        {
            // A panel's steps are its columns (fp32) or column pairs (bf16), one 64-byte line each.
            int steps = w.Bf16 ? w.Pairs : w.Columns;
            byte* panel = (byte*)w.Data + (long)q * steps * 64;
            if (w.Bf16)
            {
                if (count > 4) Panel8<PairColumn>(panel, steps, inputs, sums);
                else Panel4<PairColumn>(panel, steps, inputs, sums);
            }
            else if (count > 4) Panel8<Column>(panel, steps, inputs, sums);
            else Panel4<Column>(panel, steps, inputs, sums);
            Store(w, sums, count, y, bias, q);
        }
    }

    /// <summary>
    /// Panels [start, end) of bf16 <paramref name="w"/> times up to 8 inputs given as interleaved column pairs
    /// (<see cref="Bf16DotKernels.Panels"/>), into <paramref name="y"/> (bf16, <c>[count][rows]</c>) plus the bias.
    /// </summary>
    internal static void MultiplyPairs(Packed w, uint* pairs, int count, ushort* y, float* bias, int start, int end)
    {
        // All the panels in one call: each call pauses the stream of weights (as DecodeLinear's pieces do).
        fixed (float* sums = DecodeLinear.Sums((long)(end - start) * count * Width))
        {
            Bf16DotKernels.Panels(count, (byte*)w.Data + (long)start * w.Pairs * 64, pairs, w.Pairs, sums, end - start);
            for (int q = start; q < end; q++) Store(w, sums + (long)(q - start) * count * Width, count, y, bias, q);
        }
    }

    /// <summary>Panel <paramref name="q"/>'s sums (<c>[input][16]</c>) plus the bias, into the outputs (bf16 rounded as libtorch rounds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static void Store(Packed w, float* sums, int count, void* y, float* bias, int q)
    {
        int r0 = q * Width, width = Math.Min(Width, w.Rows - r0);
        // A whole panel's 16 outputs an input at a time, in vectors: a step of eight writes a million outputs, and one
        // at a time they took 2-3 ms of a bf16 gpt2-small step's 20.
        if (width == Width)
        {
            var bias0 = bias == null ? Vector256<float>.Zero : Vector256.Load(bias + r0);
            var bias8 = bias == null ? Vector256<float>.Zero : Vector256.Load(bias + r0 + 8);
            for (int b = 0; b < count; b++)
            {
                var first = Vector256.Load(sums + b * Width) + bias0;
                var second = Vector256.Load(sums + b * Width + 8) + bias8;
                long at = (long)b * w.Rows + r0;
                if (w.Bf16) Bf16.Narrow(first, second).Store((ushort*)y + at);
                else
                {
                    first.Store((float*)y + at);
                    second.Store((float*)y + at + 8);
                }
            }
            return;
        }
        for (int b = 0; b < count; b++)
            for (int j = 0; j < width; j++)
            {
                float sum = sums[b * Width + j] + (bias == null ? 0 : bias[r0 + j]);
                long at = (long)b * w.Rows + r0 + j;
                if (w.Bf16) ((ushort*)y)[at] = Bf16.FromFloat(sum);
                else ((float*)y)[at] = sum;
            }
    }

    // Each kernel keeps its accumulators in registers: two vectors (16 outputs) for each input. The JIT compiles it
    // once for each column reader, with the reader's two methods inlined.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static void Panel8<TColumn>(byte* panel, int steps, float** x, float* sums) where TColumn : struct, IColumn<TColumn>
    {
        float* x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
        var a0 = Vector256<float>.Zero; var b0 = a0; var a1 = a0; var b1 = a0; var a2 = a0; var b2 = a0; var a3 = a0; var b3 = a0;
        var a4 = a0; var b4 = a0; var a5 = a0; var b5 = a0; var a6 = a0; var b6 = a0; var a7 = a0; var b7 = a0;
        for (int step = 0; step < steps; step++)
        {
            var c = TColumn.Read(panel, step);
            c.Into(x0, step, ref a0, ref b0); c.Into(x1, step, ref a1, ref b1);
            c.Into(x2, step, ref a2, ref b2); c.Into(x3, step, ref a3, ref b3);
            c.Into(x4, step, ref a4, ref b4); c.Into(x5, step, ref a5, ref b5);
            c.Into(x6, step, ref a6, ref b6); c.Into(x7, step, ref a7, ref b7);
        }
        a0.Store(sums); b0.Store(sums + 8); a1.Store(sums + 16); b1.Store(sums + 24); a2.Store(sums + 32); b2.Store(sums + 40); a3.Store(sums + 48); b3.Store(sums + 56);
        a4.Store(sums + 64); b4.Store(sums + 72); a5.Store(sums + 80); b5.Store(sums + 88); a6.Store(sums + 96); b6.Store(sums + 104); a7.Store(sums + 112); b7.Store(sums + 120);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static void Panel4<TColumn>(byte* panel, int steps, float** x, float* sums) where TColumn : struct, IColumn<TColumn>
    {
        float* x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        var a0 = Vector256<float>.Zero; var b0 = a0; var a1 = a0; var b1 = a0; var a2 = a0; var b2 = a0; var a3 = a0; var b3 = a0;
        for (int step = 0; step < steps; step++)
        {
            var c = TColumn.Read(panel, step);
            c.Into(x0, step, ref a0, ref b0); c.Into(x1, step, ref a1, ref b1);
            c.Into(x2, step, ref a2, ref b2); c.Into(x3, step, ref a3, ref b3);
        }
        a0.Store(sums); b0.Store(sums + 8); a1.Store(sums + 16); b1.Store(sums + 24); a2.Store(sums + 32); b2.Store(sums + 40); a3.Store(sums + 48); b3.Store(sums + 56);
    }

    /// <summary>One 64-byte line of a panel, read into fp32 vectors, and its products with one input.</summary>
    interface IColumn<TSelf> where TSelf : struct, IColumn<TSelf>
    {
        /// <summary>Line <paramref name="step"/> of <paramref name="panel"/>, with the line 4 KB ahead asked for.</summary>
        static abstract TSelf Read(byte* panel, int step);

        /// <summary>Input <paramref name="x"/>'s entries for line <paramref name="step"/> times the line, into its 16 outputs' sums.</summary>
        void Into(float* x, int step, ref Vector256<float> a, ref Vector256<float> b);
    }

    /// <summary>Column k of an fp32 panel: rows 0-7 and 8-15.</summary>
    readonly struct Column(Vector256<float> rows0, Vector256<float> rows8) : IColumn<Column>
    {
        public readonly Vector256<float> Rows0 = rows0, Rows8 = rows8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Column Read(byte* panel, int k)
        {
            float* column = (float*)panel + k * Width;
            if (Sse.IsSupported) Sse.Prefetch1((byte*)column + PrefetchBytes);
            return new(Vector256.Load(column), Vector256.Load(column + 8));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Into(float* x, int k, ref Vector256<float> a, ref Vector256<float> b)
        {
            var v = Vector256.Create(x[k]);
            a = Vector256.FusedMultiplyAdd(Rows0, v, a);
            b = Vector256.FusedMultiplyAdd(Rows8, v, b);
        }
    }

    /// <summary>
    /// Column pair j of a bf16 panel, widened: its first column (<see cref="Even0"/> rows 0-7, <see cref="Even1"/> rows
    /// 8-15) and its second. Each 32-bit lane holds one row's two columns; a shift gives the first as fp32, a mask the second.
    /// </summary>
    readonly struct PairColumn(Vector256<float> even0, Vector256<float> odd0, Vector256<float> even1, Vector256<float> odd1) : IColumn<PairColumn>
    {
        public readonly Vector256<float> Even0 = even0, Odd0 = odd0, Even1 = even1, Odd1 = odd1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static PairColumn Read(byte* panel, int j)
        {
            uint* column = (uint*)((ushort*)panel + j * Width * 2);
            if (Sse.IsSupported) Sse.Prefetch1((byte*)column + PrefetchBytes);
            var low = Vector256.Load(column);
            var high = Vector256.Load(column + 8);
            var highHalf = Vector256.Create(0xFFFF0000u);
            return new(Vector256.ShiftLeft(low, 16).AsSingle(), (low & highHalf).AsSingle(), Vector256.ShiftLeft(high, 16).AsSingle(), (high & highHalf).AsSingle());
        }

        /// <summary>Input <paramref name="x"/>'s columns 2j and 2j + 1 into its 16 outputs' sums.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Into(float* x, int j, ref Vector256<float> a, ref Vector256<float> b)
        {
            var first = Vector256.Create(x[2 * j]);
            var second = Vector256.Create(x[2 * j + 1]);
            a = Vector256.FusedMultiplyAdd(Odd0, second, Vector256.FusedMultiplyAdd(Even0, first, a));
            b = Vector256.FusedMultiplyAdd(Odd1, second, Vector256.FusedMultiplyAdd(Even1, first, b));
        }
    }
}
