using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlmForge.Model.Attention;

/// <summary>
/// Attention of a decoding step's new token over the KV cache, read where it lies: for each key/value head, the
/// scores of its queries against every cached key, their softmax, and the weighted sum of the values, in fp32.
/// A decoded token reads the whole cache once a layer, so this is a stream like <see cref="DecodeLinear"/>'s: on this
/// project's machine libtorch's fused attention for one query took 0.2 ms (fp32) and 0.35 ms (bf16) a layer after
/// 540 tokens, 1-1.3 ms after 2,000, reading bf16 caches at about 6 GB/s.
/// </summary>
/// <remarks>
/// Only inference takes this path (no gradient, the CPU, fp32 or bf16, one query position, each head's cached rows
/// contiguous as <see cref="LayerKvCache"/> holds them); anything else returns null for libtorch's attention.
/// Results agree with libtorch's to float rounding (bf16: one rounding of the output).
/// </remarks>
public static class DecodeAttention
{
    /// <summary>Cache bytes (keys and values) from which the heads are shared among threads.</summary>
    const long ParallelBytes = 256 << 10;

    /// <summary>
    /// <c>softmax(q·kᵀ / √d)·v</c> for <paramref name="queries"/> <c>[B, G, Q, D]</c> (Q query heads sharing each of G
    /// key/value heads, one position) over <paramref name="keys"/> and <paramref name="values"/> <c>[B, G, L, D]</c>;
    /// null where this path does not apply.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor? TryAttend(Tensor queries, Tensor keys, Tensor values)
    {
        if (!DecodeLinear.Enabled || is_grad_enabled() || queries.device_type != DeviceType.CPU || queries.dim() != 4 || keys.dim() != 4
            || queries.dtype is not (ScalarType.Float32 or ScalarType.BFloat16) || keys.dtype != queries.dtype || values.dtype != queries.dtype)
            return null;
        int batch = (int)queries.size(0), groups = (int)queries.size(1), perGroup = (int)queries.size(2), dim = (int)queries.size(3);
        int length = (int)keys.size(2);
        if (keys.size(0) != batch || keys.size(1) != groups || keys.size(3) != dim || values.size(0) != batch || values.size(1) != groups
            || values.size(2) != length || values.size(3) != dim || length == 0
            || keys.stride(3) != 1 || keys.stride(2) != dim || values.stride(3) != 1 || values.stride(2) != dim)
            return null;
        bool bf16 = queries.dtype == ScalarType.BFloat16;
        using var q = queries.to(ScalarType.Float32).contiguous();
        var result = empty([batch, groups, perGroup, dim], dtype: queries.dtype);
        // Each head's rows are contiguous: the first head's view gives the address the others are strides away from.
        using var firstKeys = keys.select(0, 0).select(0, 0);
        using var firstValues = values.select(0, 0).select(0, 0);
        unsafe
        {
            fixed (byte* k = firstKeys.bytes, v = firstValues.bytes, o = result.bytes)
            fixed (byte* qp = q.bytes)
            {
                int size = bf16 ? 2 : 4;
                var caches = new CachedRows[batch];
                for (int b = 0; b < batch; b++)
                    caches[b] = new((nint)(k + b * keys.stride(0) * size), (nint)(v + b * values.stride(0) * size), keys.stride(1), values.stride(1), length);
                Attend((float*)qp, groups, perGroup, dim, caches, bf16, o);
            }
        }
        return result;
    }

    /// <summary>
    /// One sequence's cached keys and values as <see cref="Attend"/> reads them: the first key/value head's first row at
    /// <paramref name="Keys"/> and <paramref name="Values"/>, each further head <paramref name="KeyHead"/> and
    /// <paramref name="ValueHead"/> values on, <paramref name="Length"/> rows a head (the new token's included).
    /// </summary>
    internal readonly record struct CachedRows(nint Keys, nint Values, long KeyHead, long ValueHead, int Length);

    /// <summary>
    /// The attention of <see cref="TryAttend"/> on raw memory, each sequence over a cache of its own (a decoding step of
    /// several, <see cref="GptDecodeStep"/>): row b's queries (fp32, <c>[groups, perGroup, dim]</c>) over
    /// <paramref name="caches"/>[b]; row b's output (<c>[groups, perGroup, dim]</c> in the cache's dtype) follows row b - 1's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    internal static unsafe void Attend(float* queries, int groups, int perGroup, int dim, CachedRows[] caches, bool bf16, byte* output)
    {
        nint qAddress = (nint)queries, oAddress = (nint)output;
        int size = bf16 ? 2 : 4;
        float scale = (float)(1 / Math.Sqrt(dim));
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Head(int h)
        {
            int b = h / groups, g = h % groups;
            var cache = caches[b];
            long rowOffset = ((long)b * groups + g) * perGroup * dim;
            Attend((float*)qAddress + rowOffset, perGroup, (byte*)cache.Keys + g * cache.KeyHead * size, (byte*)cache.Values + g * cache.ValueHead * size,
                bf16, cache.Length, dim, scale, (byte*)oAddress + rowOffset * size);
        }
        long bytes = 2L * groups * caches.Sum(c => (long)c.Length) * dim * size;
        DecodeWorkers.Run(bytes < ParallelBytes ? 1 : DecodeLinear.Threads, caches.Length * groups, Head);
    }

    [ThreadStatic] static float[]? _scratch;

    /// <summary>One key/value head: <paramref name="count"/> queries (fp32, <paramref name="dim"/> apart) over <paramref name="length"/> cached rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    static unsafe void Attend(float* queries, int count, byte* keys, byte* values, bool bf16, int length, int dim, float scale, byte* output)
    {
        // bf16 rows read in place, two values a 32-bit lane, where whole 8-lane vectors cover a head (ScorePairs,
        // WeightedSumPairs); others widened a row at a time.
        bool pairs = bf16 && dim % 16 == 0;
        // Scores [count, length], a widened row or the queries split, and the sums [count, dim], in one buffer kept per thread.
        int need = count * length + count * dim + count * dim;
        if (_scratch == null || _scratch.Length < need) _scratch = new float[Math.Max(need, 2 * (_scratch?.Length ?? 0))];
        fixed (float* scratch = _scratch)
        {
            float* scores = scratch, row = scratch + count * length, sums = row + count * dim;
            int half = dim / 2;
            if (pairs)
                for (int t = 0; t < count * dim; t++) row[t / dim * dim + t % 2 * half + t % dim / 2] = queries[t];
            if (pairs)
                for (int i = 0; i < count; i++) ScorePairs(row + i * dim, (uint*)keys, half, length, scale, scores + i * length);
            else
                for (int j = 0; j < length; j++)
                {
                    float* keyRow = bf16 ? Widened((ushort*)keys + (long)j * dim, row, dim) : (float*)keys + (long)j * dim;
                    for (int i = 0; i < count; i++) scores[i * length + j] = Dot(queries + i * dim, keyRow, dim) * scale;
                }
            for (int i = 0; i < count; i++) Softmax(scores + i * length, length);
            if (pairs)
                for (int i = 0; i < count; i++) WeightedSumPairs((uint*)values, half, length, scores + i * length, sums + i * dim);
            else
            {
                new Span<float>(sums, count * dim).Clear();
                for (int j = 0; j < length; j++)
                {
                    float* valueRow = bf16 ? Widened((ushort*)values + (long)j * dim, row, dim) : (float*)values + (long)j * dim;
                    for (int i = 0; i < count; i++) AddScaled(sums + i * dim, valueRow, scores[i * length + j], dim);
                }
            }
            for (int t = 0; t < count * dim; t++)
            {
                // Split sums (even entries, then odd) go back in order.
                float sum = pairs ? sums[t / dim * dim + t % 2 * half + t % dim / 2] : sums[t];
                if (bf16) ((ushort*)output)[t] = Bf16.FromFloat(sum);
                else ((float*)output)[t] = sum;
            }
        }
    }

    // bf16 rows in pairs: a bf16 value is the high half of its fp32, so shifting a 32-bit lane left by 16 gives its
    // even entry and masking its low half away the odd one. Queries and sums are kept split, even entries first, then
    // odd. Widening each row into a buffer first took 3-4% of a bf16 gpt2-small token at a few hundred positions.

    /// <summary>A split query (<paramref name="half"/> even entries, then the odd) times a bf16 row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe float DotPairs(float* query, uint* row, int half)
    {
        var highHalf = Vector256.Create(0xFFFF0000u);
        var sum0 = Vector256<float>.Zero;
        var sum1 = sum0;
        for (int j = 0; j < half; j += 8)
        {
            var lanes = Vector256.Load(row + j);
            sum0 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(lanes, 16).AsSingle(), Vector256.Load(query + j), sum0);
            sum1 = Vector256.FusedMultiplyAdd((lanes & highHalf).AsSingle(), Vector256.Load(query + half + j), sum1);
        }
        return Vector256.Sum(sum0 + sum1);
    }

    /// <summary>
    /// A split query's scores against <paramref name="length"/> bf16 key rows of <paramref name="half"/> pairs, times
    /// <paramref name="scale"/>: four rows at a time, their four sums reduced together (two horizontal additions for four
    /// rows, where one row's own total costs about as much); a batch's eight sequences spent a tenth of a step here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ScorePairs(float* query, uint* keys, int half, int length, float scale, float* scores)
    {
        var highHalf = Vector256.Create(0xFFFF0000u);
        int j = 0;
        if (Avx.IsSupported)
            for (; j + 4 <= length; j += 4)
            {
                uint* k0 = keys + (long)j * half, k1 = k0 + half, k2 = k1 + half, k3 = k2 + half;
                var a0 = Vector256<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var b0 = a0; var b1 = a0; var b2 = a0; var b3 = a0;
                for (int p = 0; p < half; p += 8)
                {
                    var even = Vector256.Load(query + p);
                    var odd = Vector256.Load(query + half + p);
                    var l0 = Vector256.Load(k0 + p);
                    var l1 = Vector256.Load(k1 + p);
                    var l2 = Vector256.Load(k2 + p);
                    var l3 = Vector256.Load(k3 + p);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(l0, 16).AsSingle(), even, a0); b0 = Vector256.FusedMultiplyAdd((l0 & highHalf).AsSingle(), odd, b0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(l1, 16).AsSingle(), even, a1); b1 = Vector256.FusedMultiplyAdd((l1 & highHalf).AsSingle(), odd, b1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(l2, 16).AsSingle(), even, a2); b2 = Vector256.FusedMultiplyAdd((l2 & highHalf).AsSingle(), odd, b2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(l3, 16).AsSingle(), even, a3); b3 = Vector256.FusedMultiplyAdd((l3 & highHalf).AsSingle(), odd, b3);
                }
                // [s0 s1 s2 s3] per 128-bit half after two pairwise additions; the halves' sum is the four totals.
                var pairwise = Avx.HorizontalAdd(Avx.HorizontalAdd(a0 + b0, a1 + b1), Avx.HorizontalAdd(a2 + b2, a3 + b3));
                ((pairwise.GetLower() + pairwise.GetUpper()) * scale).Store(scores + j);
            }
        for (; j < length; j++) scores[j] = DotPairs(query, keys + (long)j * half, half) * scale;
    }

    /// <summary>
    /// Split sums (<paramref name="half"/> even entries, then the odd) of <paramref name="length"/> bf16 value rows, row j
    /// times <paramref name="weights"/>[j]. The sums stay in registers while every row passes, 64 values at a time (then
    /// 16): added to memory row by row, their loads and stores outnumbered the rows' own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void WeightedSumPairs(uint* values, int half, int length, float* weights, float* sums)
    {
        var highHalf = Vector256.Create(0xFFFF0000u);
        int c = 0;
        for (; c + 32 <= half; c += 32)
        {
            var e0 = Vector256<float>.Zero; var e1 = e0; var e2 = e0; var e3 = e0; var o0 = e0; var o1 = e0; var o2 = e0; var o3 = e0;
            for (int j = 0; j < length; j++)
            {
                uint* row = values + (long)j * half + c;
                var w = Vector256.Create(weights[j]);
                var l0 = Vector256.Load(row);
                var l1 = Vector256.Load(row + 8);
                var l2 = Vector256.Load(row + 16);
                var l3 = Vector256.Load(row + 24);
                e0 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(l0, 16).AsSingle(), w, e0); o0 = Vector256.FusedMultiplyAdd((l0 & highHalf).AsSingle(), w, o0);
                e1 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(l1, 16).AsSingle(), w, e1); o1 = Vector256.FusedMultiplyAdd((l1 & highHalf).AsSingle(), w, o1);
                e2 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(l2, 16).AsSingle(), w, e2); o2 = Vector256.FusedMultiplyAdd((l2 & highHalf).AsSingle(), w, o2);
                e3 = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(l3, 16).AsSingle(), w, e3); o3 = Vector256.FusedMultiplyAdd((l3 & highHalf).AsSingle(), w, o3);
            }
            e0.Store(sums + c); e1.Store(sums + c + 8); e2.Store(sums + c + 16); e3.Store(sums + c + 24);
            o0.Store(sums + half + c); o1.Store(sums + half + c + 8); o2.Store(sums + half + c + 16); o3.Store(sums + half + c + 24);
        }
        for (; c < half; c += 8)
        {
            var even = Vector256<float>.Zero;
            var odd = even;
            for (int j = 0; j < length; j++)
            {
                var lanes = Vector256.Load(values + (long)j * half + c);
                var w = Vector256.Create(weights[j]);
                even = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(lanes, 16).AsSingle(), w, even);
                odd = Vector256.FusedMultiplyAdd((lanes & highHalf).AsSingle(), w, odd);
            }
            even.Store(sums + c);
            odd.Store(sums + half + c);
        }
    }

    /// <summary>A bf16 row widened into <paramref name="into"/>, which is returned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe float* Widened(ushort* source, float* into, int dim)
    {
        Bf16.Widen(new ReadOnlySpan<ushort>(source, dim), new Span<float>(into, dim));
        return into;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe float Dot(float* a, float* b, int dim)
    {
        var sum0 = Vector256<float>.Zero;
        var sum1 = sum0;
        int k = 0;
        for (; k + 16 <= dim; k += 16)
        {
            sum0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + k), Vector256.Load(b + k), sum0);
            sum1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + k + 8), Vector256.Load(b + k + 8), sum1);
        }
        float sum = Vector256.Sum(sum0 + sum1);
        for (; k < dim; k++) sum += a[k] * b[k];
        return sum;
    }

    /// <summary>Scores turned into weights that sum to 1, minus the largest first so that exp cannot overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Softmax(float* scores, int length)
    {
        float largest = float.NegativeInfinity;
        for (int j = 0; j < length; j++) largest = Math.Max(largest, scores[j]);
        var top = Vector256.Create(largest);
        var total = Vector256<float>.Zero;
        int k = 0;
        for (; k + 8 <= length; k += 8)
        {
            var e = Vector256.Exp(Vector256.Load(scores + k) - top);
            e.Store(scores + k);
            total += e;
        }
        float sum = Vector256.Sum(total);
        for (; k < length; k++) sum += scores[k] = MathF.Exp(scores[k] - largest);
        float inverse = 1 / sum;
        for (int j = 0; j < length; j++) scores[j] *= inverse;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void AddScaled(float* sums, float* value, float weight, int dim)
    {
        var w = Vector256.Create(weight);
        int k = 0;
        for (; k + 8 <= dim; k += 8) Vector256.FusedMultiplyAdd(Vector256.Load(value + k), w, Vector256.Load(sums + k)).Store(sums + k);
        for (; k < dim; k++) sums[k] += value[k] * weight;
    }
}
