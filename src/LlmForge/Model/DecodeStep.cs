using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlmForge.Model.Attention;

namespace LlmForge.Model;

/// <summary>
/// What the decoding steps on raw memory of every family (<see cref="GptDecodeStep"/>, <see cref="Llama.LlamaDecodeStep"/>)
/// share: each row's KV cache in each block, checked before anything is written, the new keys and values stored in place,
/// a thread's working memory, and rows moved between the model's dtype and fp32 with libtorch's roundings.
/// </summary>
static unsafe class DecodeStep
{
    /// <summary>Whether the fast paths allow a step now: on (<see cref="DecodeLinear.Enabled"/>), no gradient recorded.</summary>
    public static bool Allowed => DecodeLinear.Enabled && !is_grad_enabled();

    /// <summary>
    /// Whether a tensor (a weight, an embedding table, a cache's buffer) is read where it lies: contiguous on the CPU in
    /// <paramref name="dtype"/>, under the 2 GiB a span covers.
    /// </summary>
    public static bool Readable(Tensor tensor, ScalarType dtype) =>
        tensor.device_type == DeviceType.CPU && tensor.dtype == dtype && tensor.is_contiguous() && tensor.numel() * tensor.element_size() <= int.MaxValue;

    /// <summary>
    /// The token ids of <paramref name="idx"/> <c>[B, 1]</c> (int64, CPU, as <see cref="DecodeLinear.TakesRows"/> allows B),
    /// each in <c>[0, vocabulary)</c>; null otherwise (the model's own forward then runs, and says what is wrong).
    /// </summary>
    public static long[]? Ids(Tensor idx, long vocabulary)
    {
        if (idx.device_type != DeviceType.CPU || idx.dim() != 2 || idx.size(1) != 1 || idx.dtype != ScalarType.Int64 || !idx.is_contiguous()
            || !DecodeLinear.TakesRows((int)idx.size(0)))
            return null;
        var ids = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(idx.bytes).ToArray();
        return ids.Any(id => id < 0 || id >= vocabulary) ? null : ids;
    }

    /// <summary>
    /// Each row's cache in each block: a sequence's own (a step of several, <see cref="KvCache.Rows"/>), or row b of one
    /// the rows share. Made by <see cref="For"/>, which refuses a step that does not fit before anything is written.
    /// </summary>
    public sealed class Caches
    {
        readonly (LayerKvCache Owner, int Index, Tensor Keys, Tensor Values)[,] _entries;
        readonly int _heads, _dim, _size;

        Caches((LayerKvCache, int, Tensor, Tensor)[,] entries, int heads, int dim, int size) => (_entries, _heads, _dim, _size) = (entries, heads, dim, size);

        /// <summary>
        /// The caches of a step of <paramref name="batch"/> rows, their buffers made where empty, for
        /// <paramref name="heads"/> key/value heads of <paramref name="dim"/> values in <paramref name="dtype"/>; null where
        /// they do not suit (the model's forward then runs). Throws, writing nothing, where a position would not fit.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
        public static Caches? For(KvCache cache, int batch, int blocks, int heads, int dim, ScalarType dtype, int contextLength)
        {
            var entries = new (LayerKvCache, int, Tensor, Tensor)[blocks, batch];
            for (int l = 0; l < blocks; l++)
            {
                var rows = cache[l].Rows;
                if (rows != null && rows.Count != batch) return null;
                for (int b = 0; b < batch; b++)
                {
                    var owner = rows?[b] ?? cache[l];
                    if (owner.Buffers(rows != null ? 1 : batch, heads, dim, dtype) is not var (keys, values) || !Readable(keys, dtype))
                        return null;
                    entries[l, b] = (owner, rows != null ? 0 : b, keys, values);
                }
            }
            KvCache.RequireFits(cache, 1, contextLength);
            foreach (var entry in entries) entry.Item1.RequireRoom(1);
            return new Caches(entries, heads, dim, dtype == ScalarType.BFloat16 ? 2 : 4);
        }

        /// <summary>Row b's position in block <paramref name="layer"/> (the tokens its cache holds there, before <see cref="Advance"/>).</summary>
        public long Position(int layer, int b) => _entries[layer, b].Owner.Length;

        /// <summary>
        /// Block <paramref name="layer"/>'s new keys and values (each row <c>[heads, dim]</c> in the dtype, rows one after
        /// another) stored at each row's position, and the rows as <see cref="DecodeAttention.Attend"/> reads them.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
        public DecodeAttention.CachedRows[] Store(int layer, byte* keys, byte* values)
        {
            int batch = _entries.GetLength(1), rowBytes = _dim * _size;
            var cached = new DecodeAttention.CachedRows[batch];
            for (int b = 0; b < batch; b++)
            {
                // Each sequence's cache has a capacity of its own.
                var (owner, index, keyBuffer, valueBuffer) = _entries[layer, b];
                long headValues = keyBuffer.size(2) * _dim, position = owner.Length;
                fixed (byte* keyData = keyBuffer.bytes, valueData = valueBuffer.bytes)
                {
                    byte* firstKey = keyData + index * _heads * headValues * _size, firstValue = valueData + index * _heads * headValues * _size;
                    for (int h = 0; h < _heads; h++)
                    {
                        long source = ((long)b * _heads + h) * rowBytes, target = (h * headValues + position * _dim) * _size;
                        Buffer.MemoryCopy(keys + source, firstKey + target, rowBytes, rowBytes);
                        Buffer.MemoryCopy(values + source, firstValue + target, rowBytes, rowBytes);
                    }
                    cached[b] = new((nint)firstKey, (nint)firstValue, headValues, headValues, (int)position + 1);
                }
            }
            return cached;
        }

        /// <summary>Counts block <paramref name="layer"/>'s new position: in each sequence's cache, or once in the one the rows share.</summary>
        public void Advance(int layer)
        {
            for (int b = 0; b < _entries.GetLength(1); b++)
                if (b == 0 || _entries[layer, b].Owner != _entries[layer, 0].Owner) _entries[layer, b].Owner.Advance(1);
        }
    }

    [ThreadStatic] static float[]? _scratch;

    /// <summary>This thread's working memory, at least <paramref name="floats"/> long, pinned (its address holds) and kept between steps.</summary>
    public static float* Scratch(long floats)
    {
        if (_scratch == null || _scratch.Length < floats) _scratch = GC.AllocateUninitializedArray<float>((int)floats, pinned: true);
        return (float*)Unsafe.AsPointer(ref _scratch[0]);
    }

    /// <summary><paramref name="count"/> values of the model's dtype at <paramref name="source"/> in fp32 at <paramref name="into"/>, which is returned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    public static float* Load(byte* source, bool bf16, float* into, int count)
    {
        if (bf16) Bf16.Widen(new ReadOnlySpan<ushort>(source, count), new Span<float>(into, count));
        else Buffer.MemoryCopy(source, into, count * 4L, count * 4L);
        return into;
    }

    /// <summary><paramref name="count"/> fp32 values stored in the model's dtype (bf16 rounded to nearest even).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    public static void Store(float* source, byte* into, bool bf16, int count)
    {
        if (bf16) Bf16.Narrow(new ReadOnlySpan<float>(source, count), new Span<ushort>(into, count));
        else Buffer.MemoryCopy(source, into, count * 4L, count * 4L);
    }

    /// <summary>x += y; in bf16 the sum rounded to bf16, as a bf16 tensor holds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first token, not after tiering
    public static void Add(float* x, float* y, int count, bool bf16)
    {
        int i = 0;
        for (; i + 8 <= count; i += 8)
        {
            var sum = Vector256.Load(x + i) + Vector256.Load(y + i);
            (bf16 ? Bf16.Round(sum) : sum).Store(x + i);
        }
        for (; i < count; i++) x[i] = bf16 ? Bf16.ToFloat(Bf16.FromFloat(x[i] + y[i])) : x[i] + y[i];
    }
}
