using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LlmForge.Model.Native;
using TorchSharp.Modules;

namespace LlmForge.Model;

/// <summary>
/// A linear layer applied to the few rows of a decoding step (one a sequence): <c>y = W·x + b</c> with W of
/// <c>[out, in]</c> in fp32 or bf16, read once from memory in a single pass for all the rows. libtorch's kernels
/// reach about 12 GB/s (fp32) and 6 GB/s (bf16) on one such product on this project's machine, so a decoded token
/// spent most of its time there; this pass streams the weights at close to the memory's speed. Each output is a
/// dot product accumulated in fp32 (a bf16 weight is widened exactly by a shift, or multiplied in pairs by
/// <see cref="Bf16DotKernels"/> where the processor has AVX-512 BF16), then rounded once to the layer's dtype, as
/// libtorch rounds; the sums' order differs, so results agree to float rounding.
/// </summary>
/// <remarks>
/// Only inference takes this path: a CPU tensor, no gradient recorded, one row, or up to <see cref="MaxRows"/> in a
/// decoding step (<see cref="OneThreadAround"/>), contiguous weights under 2 GiB. Anything else goes to libtorch's <c>linear</c>. Products of
/// 256 KB and more are split among <see cref="torch.get_num_threads"/> threads (<see cref="DecodeWorkers"/>). Given
/// <see cref="DecodePanels"/> (a batch of generations), the products read the weights' panel copies instead: one stream
/// feeding every row, where row by row the core fell behind the memory. A row's sums are then the same bits whatever
/// the rows beside it, one row alone included, so a server's request does not depend on what else is running.
/// </remarks>
public static class DecodeLinear
{
    /// <summary>
    /// Inputs taken together (several sequences decoded in one step): each weight row is read from memory once for all
    /// of them. Beyond this, libtorch's matrix product reads the weights well enough.
    /// </summary>
    public const int MaxRows = 16;

    /// <summary>Rows per unit of parallel work: enough to amortise scheduling.</summary>
    const int RowsPerChunk = 64;

    /// <summary>
    /// Products smaller than this run on the calling thread alone. Larger ones are shared with <see cref="DecodeWorkers"/>,
    /// which stay awake between the products of a token: on this project's machine two threads then stream 25-31 GB/s
    /// where one streams 17-25 (gpt2-small and Qwen3-0.6B, 2026-11-29), while waking pool threads for each product
    /// (<c>Parallel.For</c>) gained nothing.
    /// </summary>
    const long ParallelBytes = 256 << 10;

    /// <summary>
    /// Workers for the products; null: libtorch's thread count. Generation sets it while it runs libtorch's own (tiny)
    /// decoding operations on one thread, so that libtorch's idle workers do not spin on the cores the products use.
    /// </summary>
    [ThreadStatic] static int? _threads;

    /// <summary>Panel copies for steps of several sequences (<see cref="DecodePanels"/>), given to <see cref="OneThreadAround"/>.</summary>
    [ThreadStatic] static DecodePanels? _panels;

    /// <summary>Threads for the products (and <see cref="Attention.DecodeAttention"/>): those given to <see cref="OneThreadAround"/>, else libtorch's.</summary>
    internal static int Threads => _threads ?? get_num_threads();

    /// <summary>
    /// Runs the products on <paramref name="threads"/> workers and everything else libtorch does on one, until disposed.
    /// With <paramref name="panels"/>, the products read the weights' panel copies (made there on first use).
    /// </summary>
    public static IDisposable OneThreadAround(int threads, DecodePanels? panels = null) => new ThreadScope(threads, panels);

    sealed class ThreadScope : IDisposable
    {
        readonly int? _previous = _threads;
        readonly DecodePanels? _previousPanels = _panels;
        readonly int _torchThreads = get_num_threads();

        public ThreadScope(int threads, DecodePanels? panels)
        {
            _threads = threads;
            _panels = panels;
            if (_torchThreads != 1) set_num_threads(1);
        }

        public void Dispose()
        {
            _threads = _previous;
            _panels = _previousPanels;
            if (get_num_threads() != _torchThreads) set_num_threads(_torchThreads);
        }
    }

    static readonly bool EnabledByDefault = Environment.GetEnvironmentVariable("LLMFORGE_DECODE_KERNEL") != "0";
    [ThreadStatic] static bool? _enabled;

    /// <summary>
    /// Whether the fast path runs on this thread (off to compare with libtorch's products; <c>LLMFORGE_DECODE_KERNEL=0</c>
    /// turns it off everywhere). Setting it changes only the calling thread, so a comparison cannot switch the path
    /// under a generation running on another.
    /// </summary>
    public static bool Enabled { get => _enabled ?? EnabledByDefault; set => _enabled = value; }

    /// <summary><paramref name="layer"/> applied to <paramref name="x"/>: this pass for a plain Linear and a few rows, its own forward otherwise.</summary>
    public static Tensor Forward(nn.Module<Tensor, Tensor> layer, Tensor x) =>
        layer is Linear linear && Applies(linear.weight!, linear.bias, x) ? Product(linear.weight!, linear.bias, x) : layer.forward(x);

    /// <summary><c>x·Wᵀ + b</c> (libtorch's <c>linear</c>), by this pass where it applies.</summary>
    public static Tensor Forward(Tensor weight, Tensor? bias, Tensor x) =>
        Applies(weight, bias, x) ? Product(weight, bias, x) : nn.functional.linear(x, weight, bias);

    static bool Applies(Tensor weight, Tensor? bias, Tensor x) =>
        Enabled && !is_grad_enabled() && x.device_type == DeviceType.CPU && Takes(weight, bias, x.dtype)
        && x.size(-1) == weight.size(1)
        // Several rows only in a decoding step (a prompt's rows are libtorch's matrix product's business).
        && (x.numel() == weight.size(1) || TakesRows((int)(x.numel() / weight.size(1))));

    /// <summary>Whether <see cref="Multiply"/> takes this weight and bias for inputs of <paramref name="dtype"/>.</summary>
    internal static bool Takes(Tensor weight, Tensor? bias, ScalarType dtype) =>
        weight.dim() == 2 && dtype is ScalarType.Float32 or ScalarType.BFloat16 && DecodeStep.Readable(weight, dtype) && Vector256.IsHardwareAccelerated
        && (bias is null || bias.device_type == DeviceType.CPU && bias.dtype is ScalarType.Float32 or ScalarType.BFloat16
            && bias.dim() == 1 && bias.size(0) == weight.size(0) && bias.is_contiguous());

    /// <summary>Whether <paramref name="batch"/> inputs are taken together: one alone, or a decoding step's few (<see cref="OneThreadAround"/>).</summary>
    internal static bool TakesRows(int batch) => batch == 1 || _threads != null && batch <= MaxRows;

    static unsafe Tensor Product(Tensor weight, Tensor? bias, Tensor x)
    {
        int batch = (int)(x.numel() / weight.size(1));
        using var contiguous = x.contiguous();
        var shape = new long[x.dim()];
        for (int d = 0; d < shape.Length - 1; d++) shape[d] = x.size(d);
        shape[^1] = weight.size(0);
        var result = empty(shape, dtype: weight.dtype);
        fixed (byte* input = contiguous.bytes, output = result.bytes) Multiply(weight, bias, input, batch, output);
        return result;
    }

    /// <summary>
    /// <paramref name="batch"/> inputs lying one after another at <paramref name="x"/> times <paramref name="weight"/>ᵀ plus
    /// <paramref name="bias"/>, written one after another to <paramref name="y"/>, both in the weight's dtype: the product
    /// of <see cref="Forward"/> on memory the caller holds (a decoding step's buffers, <see cref="GptDecodeStep"/>).
    /// The caller has checked <see cref="Takes"/> and <see cref="TakesRows"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    internal static unsafe void Multiply(Tensor weight, Tensor? bias, byte* x, int batch, byte* y)
    {
        // Sizes one by one: a tensor's whole shape costs over a microsecond to fetch, a few times a product.
        int rows = (int)weight.size(0), columns = (int)weight.size(1);
        bool bf16 = weight.dtype == ScalarType.BFloat16;
        DecodePanels.Packed? packed = null;
        if (_panels is { } panels)
            fixed (byte* w = weight.bytes) packed = panels.For((nint)w, rows, columns, bf16); // libtorch owns that memory: the address outlives fixed
        // bf16 weights go to vdpbf16ps where the processor has it (panels, or rows of whole 32-column blocks), with the
        // inputs as they are: in panels as interleaved column pairs, row by row straight from x.
        bool native = bf16 && Bf16DotKernels.Enabled && (packed is not null || batch == 1 && columns % 32 == 0);
        // Otherwise each input in fp32, as the managed kernels read it, bf16 weights' columns padded to even; for the
        // row kernels' bf16 weights its even entries first, then its odd ones (Bf16Rows).
        int half = (columns + 1) / 2, stride = bf16 ? 2 * half : columns;
        float[] input = native ? [] : new float[batch * stride];
        uint[] pairs = native && packed is not null ? InterleavedPairs((ushort*)x, batch, columns) : [];
        if (!native)
        {
            if (bf16)
                for (int b = 0; b < batch; b++)
                    for (int k = 0; k < columns; k++) input[b * stride + (packed is null ? (k % 2) * half + k / 2 : k)] = Bf16.ToFloat(((ushort*)x)[b * columns + k]);
            else new ReadOnlySpan<float>(x, batch * columns).CopyTo(input);
        }
        fixed (byte* w = weight.bytes)
        fixed (float* xp = input, bp = Bias32(bias))
        fixed (uint* pp = pairs)
        {
            nint wAddress = (nint)w, xAddress = (nint)xp, yAddress = (nint)y, bAddress = (nint)bp, x16Address = (nint)x, pairsAddress = (nint)pp;
            int chunks = (rows + RowsPerChunk - 1) / RowsPerChunk;
            // Several rows make a product compute-bound: its work, not its bytes, decides whether a second core pays.
            int threads = weight.numel() * weight.element_size() * batch < ParallelBytes ? 1 : Math.Min(Threads, chunks);
            // One thread takes the product in one piece where the inputs are one group (one input; up to 4 read row by
            // row; up to 8 in panels): each piece pauses the stream of weights, and 64-row pieces took the products of
            // a bf16 gpt2-small token from 11.9-13.8 ms to 13.2-17.6 (runs alternating). Several groups keep 64-row
            // pieces, which each group then finds in the cache.
            bool oneGroup = batch <= (packed is not null ? 8 : batch > 1 ? 4 : 1);
            int rowsPerChunk = threads == 1 && oneGroup ? rows : RowsPerChunk;
            if (rowsPerChunk == rows) chunks = 1;
            int size = (int)weight.element_size();
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            void Chunk(int c)
            {
                int start = c * rowsPerChunk, end = Math.Min(rows, start + rowsPerChunk);
                if (native && packed is not null)
                    for (int g = 0; g < batch; g += Bf16DotKernels.MaxInputs)
                        DecodePanels.MultiplyPairs(packed, (uint*)pairsAddress + (long)g * packed.Pairs, Math.Min(Bf16DotKernels.MaxInputs, batch - g),
                            (ushort*)yAddress + (long)g * rows, (float*)bAddress, start / DecodePanels.Width, (end + DecodePanels.Width - 1) / DecodePanels.Width);
                else if (native) Bf16DotRows((ushort*)wAddress, (ushort*)x16Address, (ushort*)yAddress, (float*)bAddress, columns, start, end);
                else if (packed is not null)
                    for (int g = 0; g < batch; g += 8)
                        DecodePanels.Multiply(packed, (float*)xAddress + g * stride, stride, Math.Min(8, batch - g), (byte*)yAddress + (long)g * rows * size,
                            (float*)bAddress, start / DecodePanels.Width, (end + DecodePanels.Width - 1) / DecodePanels.Width);
                else if (batch > 1)
                    for (int g = 0; g < batch; g += 4)
                    {
                        // Four inputs at a time (a short last group repeats its last input and writes only its own).
                        int count = Math.Min(4, batch - g);
                        if (bf16) Bf16Rows4((ushort*)wAddress, (float*)xAddress + g * stride, stride, half, (ushort*)yAddress + (long)g * rows, rows, count, (float*)bAddress, columns, start, end);
                        else F32Rows4((float*)wAddress, (float*)xAddress + g * stride, stride, (float*)yAddress + (long)g * rows, rows, count, (float*)bAddress, columns, start, end);
                    }
                else if (bf16) Bf16Rows((ushort*)wAddress, (float*)xAddress, (float*)xAddress + half, (ushort*)yAddress, (float*)bAddress, columns, start, end);
                else F32Rows((float*)wAddress, (float*)xAddress, (float*)yAddress, (float*)bAddress, columns, start, end);
            }
            DecodeWorkers.Run(threads, chunks, Chunk);
        }
    }

    /// <summary>This thread's buffer for a bf16 bias widened to fp32, kept between products.</summary>
    [ThreadStatic] static float[]? _bias;

    /// <summary>
    /// The bias in fp32, added before the one rounding to the output's dtype: an fp32 bias where it lies (libtorch's
    /// memory, which outlives the product), a bf16 one widened into this thread's buffer; null without one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static unsafe Span<float> Bias32(Tensor? bias)
    {
        if (bias is null) return default;
        if (bias.dtype == ScalarType.Float32) return MemoryMarshal.Cast<byte, float>(bias.bytes);
        int count = (int)bias.numel();
        if (_bias == null || _bias.Length < count) _bias = new float[count];
        var widened = _bias.AsSpan(0, count);
        Bf16.Widen(MemoryMarshal.Cast<byte, ushort>(bias.bytes), widened);
        return widened;
    }

    /// <summary>
    /// Inputs for <see cref="Bf16DotKernels.Panels"/>: groups of eight inputs, each group <c>[pair][8]</c> 32-bit words
    /// holding an input's two bf16 values of a column pair (first column in the low half; an odd last column with zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static unsafe uint[] InterleavedPairs(ushort* values, int batch, int columns)
    {
        int pairCount = (columns + 1) / 2, groups = (batch + Bf16DotKernels.MaxInputs - 1) / Bf16DotKernels.MaxInputs;
        var pairs = new uint[groups * pairCount * Bf16DotKernels.MaxInputs];
        for (int b = 0; b < batch; b++)
        {
            int group = b / Bf16DotKernels.MaxInputs, slot = b % Bf16DotKernels.MaxInputs;
            for (int k = 0; k < columns; k++)
                pairs[((long)group * pairCount + k / 2) * Bf16DotKernels.MaxInputs + slot] |= (uint)values[b * columns + k] << (16 * (k % 2));
        }
        return pairs;
    }

    /// <summary>Each thread's buffer for the kernels' fp32 sums, kept between products.</summary>
    [ThreadStatic] static float[]? _sums;

    /// <summary>A buffer of at least <paramref name="count"/> floats for this thread's sums.</summary>
    internal static float[] Sums(long count)
    {
        if (_sums == null || _sums.Length < count) _sums = new float[Math.Max(count, 2L * (_sums?.Length ?? 0))];
        return _sums;
    }

    /// <summary>Rows [start, end) of a bf16 W times one bf16 x by <see cref="Bf16DotKernels.Rows"/>, plus the bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static unsafe void Bf16DotRows(ushort* w, ushort* x, ushort* y, float* bias, int columns, int start, int end)
    {
        fixed (float* sums = Sums(end - start))
        {
            Bf16DotKernels.Rows(w + (long)start * columns, x, columns, sums, end - start);
            for (int r = start; r < end; r++) y[r] = Bf16.FromFloat(bias == null ? sums[r - start] : sums[r - start] + bias[r]);
        }
    }

    // One row at a time, read front to back: on this project's machine four rows interleaved (sharing each load
    // of x) streamed at 12 GB/s, one row with four accumulators at 19-26 GB/s; 256-bit vectors beat 512-bit ones.

    /// <summary>Rows [start, end) of an fp32 W times x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static unsafe void F32Rows(float* w, float* x, float* y, float* bias, int columns, int start, int end)
    {
        for (int r = start; r < end; r++)
        {
            float* row = w + (long)r * columns;
            var a0 = Vector256<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            int k = 0;
            for (; k + 32 <= columns; k += 32)
            {
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(row + k), Vector256.Load(x + k), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(row + k + 8), Vector256.Load(x + k + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(row + k + 16), Vector256.Load(x + k + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(row + k + 24), Vector256.Load(x + k + 24), a3);
            }
            for (; k + 8 <= columns; k += 8) a0 = Vector256.FusedMultiplyAdd(Vector256.Load(row + k), Vector256.Load(x + k), a0);
            float sum = Vector256.Sum((a0 + a1) + (a2 + a3));
            for (; k < columns; k++) sum += row[k] * x[k];
            y[r] = bias == null ? sum : sum + bias[r];
        }
    }

    /// <summary>
    /// Rows [start, end) of a bf16 W times x. A bf16 value is the high half of its fp32, and each 32-bit lane of a row
    /// holds two: shifting a lane left by 16 gives the even one, masking its low half away the odd one, with no
    /// shuffle across lanes. So x comes split into its even (<paramref name="xEven"/>) and odd (<paramref name="xOdd"/>) entries.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static unsafe void Bf16Rows(ushort* w, float* xEven, float* xOdd, ushort* y, float* bias, int columns, int start, int end)
    {
        var highHalf = Vector256.Create(0xFFFF0000u);
        int pairs = columns / 2;
        for (int r = start; r < end; r++)
        {
            uint* row = (uint*)(w + (long)r * columns);
            var a0 = Vector256<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            int j = 0;
            for (; j + 16 <= pairs; j += 16)
            {
                var first = Vector256.Load(row + j);
                var second = Vector256.Load(row + j + 8);
                a0 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(first, 16).AsSingle(), Vector256.Load(xEven + j), a0);
                a1 = Vector256.FusedMultiplyAdd((first & highHalf).AsSingle(), Vector256.Load(xOdd + j), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(second, 16).AsSingle(), Vector256.Load(xEven + j + 8), a2);
                a3 = Vector256.FusedMultiplyAdd((second & highHalf).AsSingle(), Vector256.Load(xOdd + j + 8), a3);
            }
            float sum = Vector256.Sum((a0 + a1) + (a2 + a3));
            ushort* values = (ushort*)row;
            for (int k = 2 * j; k < columns; k++) sum += Bf16.ToFloat(values[k]) * (k % 2 == 0 ? xEven[k / 2] : xOdd[k / 2]);
            y[r] = Bf16.FromFloat(bias == null ? sum : sum + bias[r]);
        }
    }

    /// <summary>
    /// Rows [start, end) of an fp32 W times up to four inputs (<paramref name="x"/>, <paramref name="stride"/> apart): each
    /// weight vector loaded once serves all four, with two accumulators each to keep eight products in flight.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static unsafe void F32Rows4(float* w, float* x, int stride, float* y, int rows, int count, float* bias, int columns, int start, int end)
    {
        float* x0 = x, x1 = x + Math.Min(1, count - 1) * stride, x2 = x + Math.Min(2, count - 1) * stride, x3 = x + Math.Min(3, count - 1) * stride;
        for (int r = start; r < end; r++)
        {
            float* row = w + (long)r * columns;
            var a0 = Vector256<float>.Zero; var b0 = a0; var a1 = a0; var b1 = a0; var a2 = a0; var b2 = a0; var a3 = a0; var b3 = a0;
            int k = 0;
            for (; k + 16 <= columns; k += 16)
            {
                var w0 = Vector256.Load(row + k);
                var w1 = Vector256.Load(row + k + 8);
                a0 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x0 + k), a0); b0 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x0 + k + 8), b0);
                a1 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x1 + k), a1); b1 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x1 + k + 8), b1);
                a2 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x2 + k), a2); b2 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x2 + k + 8), b2);
                a3 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x3 + k), a3); b3 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x3 + k + 8), b3);
            }
            float s0 = Vector256.Sum(a0 + b0), s1 = Vector256.Sum(a1 + b1), s2 = Vector256.Sum(a2 + b2), s3 = Vector256.Sum(a3 + b3);
            for (; k < columns; k++)
            {
                s0 += row[k] * x0[k]; s1 += row[k] * x1[k]; s2 += row[k] * x2[k]; s3 += row[k] * x3[k];
            }
            float add = bias == null ? 0 : bias[r];
            y[r] = s0 + add;
            if (count > 1) y[rows + r] = s1 + add;
            if (count > 2) y[2L * rows + r] = s2 + add;
            if (count > 3) y[3L * rows + r] = s3 + add;
        }
    }

    /// <summary>Rows [start, end) of a bf16 W times up to four inputs, each split into even and odd entries (<see cref="Bf16Rows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static unsafe void Bf16Rows4(ushort* w, float* x, int stride, int half, ushort* y, int rows, int count, float* bias, int columns, int start, int end)
    {
        var highHalf = Vector256.Create(0xFFFF0000u);
        float* e0 = x, e1 = x + Math.Min(1, count - 1) * stride, e2 = x + Math.Min(2, count - 1) * stride, e3 = x + Math.Min(3, count - 1) * stride;
        float* o0 = e0 + half, o1 = e1 + half, o2 = e2 + half, o3 = e3 + half;
        int pairs = columns / 2;
        for (int r = start; r < end; r++)
        {
            uint* row = (uint*)(w + (long)r * columns);
            var a0 = Vector256<float>.Zero; var b0 = a0; var a1 = a0; var b1 = a0; var a2 = a0; var b2 = a0; var a3 = a0; var b3 = a0;
            int j = 0;
            for (; j + 8 <= pairs; j += 8)
            {
                var lanes = Vector256.Load(row + j);
                var even = Vector256.ShiftLeft(lanes, 16).AsSingle();
                var odd = (lanes & highHalf).AsSingle();
                a0 = Vector256.FusedMultiplyAdd(even, Vector256.Load(e0 + j), a0); b0 = Vector256.FusedMultiplyAdd(odd, Vector256.Load(o0 + j), b0);
                a1 = Vector256.FusedMultiplyAdd(even, Vector256.Load(e1 + j), a1); b1 = Vector256.FusedMultiplyAdd(odd, Vector256.Load(o1 + j), b1);
                a2 = Vector256.FusedMultiplyAdd(even, Vector256.Load(e2 + j), a2); b2 = Vector256.FusedMultiplyAdd(odd, Vector256.Load(o2 + j), b2);
                a3 = Vector256.FusedMultiplyAdd(even, Vector256.Load(e3 + j), a3); b3 = Vector256.FusedMultiplyAdd(odd, Vector256.Load(o3 + j), b3);
            }
            float s0 = Vector256.Sum(a0 + b0), s1 = Vector256.Sum(a1 + b1), s2 = Vector256.Sum(a2 + b2), s3 = Vector256.Sum(a3 + b3);
            ushort* values = (ushort*)row;
            for (int k = 2 * j; k < columns; k++)
            {
                float wk = Bf16.ToFloat(values[k]);
                int at = k / 2;
                if (k % 2 == 0) { s0 += wk * e0[at]; s1 += wk * e1[at]; s2 += wk * e2[at]; s3 += wk * e3[at]; }
                else { s0 += wk * o0[at]; s1 += wk * o1[at]; s2 += wk * o2[at]; s3 += wk * o3[at]; }
            }
            float add = bias == null ? 0 : bias[r];
            y[r] = Bf16.FromFloat(s0 + add);
            if (count > 1) y[rows + r] = Bf16.FromFloat(s1 + add);
            if (count > 2) y[2L * rows + r] = Bf16.FromFloat(s2 + add);
            if (count > 3) y[3L * rows + r] = Bf16.FromFloat(s3 + add);
        }
    }

}
