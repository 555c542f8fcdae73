using System.Buffers.Binary;
using System.Text;

namespace LlmForge.Interop.Gguf;

/// <summary>
/// Writes a GGUF version 3 file (the format of ggml's <c>docs/gguf.md</c>): the magic <c>GGUF</c>, the version, the
/// tensor and key/value counts, the typed key/values, each tensor's name, dimensions, type and data offset, and then
/// the tensors' data, each starting on a 32-byte boundary. All numbers are little-endian; a string is its UTF-8
/// length (u64) and bytes.
/// </summary>
/// <remarks>
/// Dimensions are listed innermost first (ggml's <c>ne[0]</c> is the length of a row), so a PyTorch tensor of shape
/// <c>[out, in]</c> is written with the same bytes and the dimensions <c>[in, out]</c>. Tensors are converted to their
/// file type one at a time, while they are written, so that the file never has to be held in memory.
/// </remarks>
public sealed class GgufWriter
{
    public const uint Version = 3;
    public const int Alignment = 32;

    enum ValueType : uint { UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9 }

    sealed record Entry(string Key, ValueType Type, Action<BinaryWriter> WriteValue);

    /// <param name="Shape">PyTorch's order (outermost first).</param>
    public sealed record TensorEntry(string Name, long[] Shape, GgmlType Type, Tensor Values);

    readonly List<Entry> _metadata = [];
    readonly List<TensorEntry> _tensors = [];

    public IReadOnlyList<TensorEntry> Tensors => _tensors;

    public void Add(string key, uint value) => AddEntry(key, ValueType.UInt32, w => w.Write(value));
    public void Add(string key, int value) => AddEntry(key, ValueType.Int32, w => w.Write(value));
    public void Add(string key, float value) => AddEntry(key, ValueType.Float32, w => w.Write(value));
    public void Add(string key, bool value) => AddEntry(key, ValueType.Bool, w => w.Write((byte)(value ? 1 : 0)));
    public void Add(string key, string value) => AddEntry(key, ValueType.String, w => WriteString(w, value));

    public void Add(string key, IReadOnlyList<string> values) => AddEntry(key, ValueType.Array, w =>
    {
        w.Write((uint)ValueType.String);
        w.Write((ulong)values.Count);
        foreach (string value in values) WriteString(w, value);
    });

    public void Add(string key, IReadOnlyList<int> values) => AddEntry(key, ValueType.Array, w =>
    {
        w.Write((uint)ValueType.Int32);
        w.Write((ulong)values.Count);
        foreach (int value in values) w.Write(value);
    });

    void AddEntry(string key, ValueType type, Action<BinaryWriter> write)
    {
        if (_metadata.Any(e => e.Key == key)) throw new InvalidOperationException($"GGUF key {key} written twice");
        _metadata.Add(new Entry(key, type, write));
    }

    /// <summary>
    /// Adds a tensor, stored as <paramref name="type"/>; a Q8_0 tensor whose rows are not whole blocks is stored as
    /// f16 instead, as llama.cpp's converter does. Returns the type it will be stored as.
    /// </summary>
    public GgmlType AddTensor(string name, Tensor values, GgmlType type)
    {
        if (_tensors.Any(t => t.Name == name)) throw new InvalidOperationException($"GGUF tensor {name} written twice");
        if (type == GgmlType.Q8_0 && values.shape[^1] % GgmlTypes.Q8BlockSize != 0) type = GgmlType.F16;
        _tensors.Add(new TensorEntry(name, values.shape, type, values));
        return type;
    }

    /// <summary>Writes the file to <paramref name="stream"/>; <paramref name="progress"/> is told each tensor's index once it is written.</summary>
    public void Write(Stream stream, Action<int>? progress = null)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write("GGUF"u8);
        writer.Write(Version);
        writer.Write((ulong)_tensors.Count);
        writer.Write((ulong)_metadata.Count);
        foreach (var entry in _metadata)
        {
            WriteString(writer, entry.Key);
            writer.Write((uint)entry.Type);
            entry.WriteValue(writer);
        }
        long offset = 0;
        foreach (var tensor in _tensors)
        {
            WriteString(writer, tensor.Name);
            writer.Write((uint)tensor.Shape.Length);
            for (int d = tensor.Shape.Length - 1; d >= 0; d--) writer.Write((ulong)tensor.Shape[d]);
            writer.Write((uint)tensor.Type);
            writer.Write((ulong)offset);
            offset = Aligned(offset + GgmlTypes.ByteCount(tensor.Type, tensor.Values.numel()));
        }
        Pad(writer);
        for (int i = 0; i < _tensors.Count; i++)
        {
            WriteData(writer, _tensors[i]);
            Pad(writer);
            progress?.Invoke(i);
        }
        writer.Flush();
    }

    static long Aligned(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    static void Pad(BinaryWriter writer)
    {
        long position = writer.BaseStream.Position;
        for (long i = position; i < Aligned(position); i++) writer.Write((byte)0);
    }

    static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    /// <summary>
    /// One tensor's data in its file type, a slice of a million values at a time: a slice's bytes fit a span however
    /// large the tensor, and Q8_0 is quantised without a managed copy of the whole tensor.
    /// </summary>
    static void WriteData(BinaryWriter writer, TensorEntry tensor)
    {
        const long Chunk = 1 << 20; // a multiple of the Q8_0 block size
        using var scope = NewDisposeScope();
        var flat = tensor.Values.detach().cpu().reshape(-1);
        var blocks = tensor.Type == GgmlType.Q8_0 ? new byte[GgmlTypes.ByteCount(GgmlType.Q8_0, Chunk)] : [];
        for (long start = 0; start < flat.numel(); start += Chunk)
        {
            using var slice = flat.narrow(0, start, Math.Min(Chunk, flat.numel() - start));
            switch (tensor.Type)
            {
                case GgmlType.F32:
                case GgmlType.F16:
                case GgmlType.BF16:
                    var storage = tensor.Type switch { GgmlType.F32 => ScalarType.Float32, GgmlType.F16 => ScalarType.Float16, _ => ScalarType.BFloat16 };
                    using (var converted = slice.to(storage).contiguous()) writer.Write(converted.bytes);
                    break;
                default:
                    using (var values = slice.to(ScalarType.Float32).contiguous())
                    {
                        int bytes = (int)GgmlTypes.ByteCount(GgmlType.Q8_0, values.numel());
                        Q8Zero.Quantize(values.data<float>().ToArray(), blocks.AsSpan(0, bytes));
                        writer.Write(blocks, 0, bytes);
                    }
                    break;
            }
        }
    }
}
