using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace LlmForge.Tests;

/// <summary>
/// Writes .pth files as torch.save does (a zip: NAME/data.pkl, a protocol-2 pickle of an OrderedDict of
/// _rebuild_tensor_v2 calls, and NAME/data/KEY float32 storages), with each tensor's offset, size and
/// stride chosen by the test, so strided views can be tested without PyTorch.
/// </summary>
static class PthWriter
{
    /// <summary>A state-dict entry: a view of storage <paramref name="Storage"/>.</summary>
    public sealed record View(string Name, string Storage, long Offset, long[] Size, long[] Stride);

    public static void Write(string path, IReadOnlyDictionary<string, float[]> storages, IEnumerable<View> views) =>
        Write(path, storages, StateDict(storages, views));

    /// <summary>Writes <paramref name="pickle"/> as data.pkl beside the storages.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, float[]> storages, byte[] pickle)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string name, byte[] bytes)
        {
            using var stream = zip.CreateEntry("archive/" + name, CompressionLevel.NoCompression).Open();
            stream.Write(bytes);
        }
        Add("data.pkl", pickle);
        Add("byteorder", "little"u8.ToArray());
        foreach (var (key, values) in storages)
        {
            var bytes = new byte[values.Length * 4];
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
            Add("data/" + key, bytes);
        }
        Add("version", "3\n"u8.ToArray());
    }

    /// <summary>The pickle torch.save writes for a state dict of these views (without its memo, which readers need not use).</summary>
    public static byte[] StateDict(IReadOnlyDictionary<string, float[]> storages, IEnumerable<View> views)
    {
        var p = new Pickle();
        p.Global("collections", "OrderedDict").Op(')').Op('R').Op('(');
        foreach (var view in views)
        {
            p.Text(view.Name).Global("torch._utils", "_rebuild_tensor_v2").Op('(');
            p.Op('(').Text("storage").Global("torch", "FloatStorage").Text(view.Storage).Text("cpu").Int(storages[view.Storage].Length).Op('t').Op('Q');
            p.Int(view.Offset).Tuple(view.Size).Tuple(view.Stride).Op(0x89);
            p.Global("collections", "OrderedDict").Op(')').Op('R');
            p.Op('t').Op('R');
        }
        return p.Op('u').Op('.').Bytes();
    }

    /// <summary>Pickle opcodes, protocol 2.</summary>
    public sealed class Pickle
    {
        readonly MemoryStream _bytes = new();

        public Pickle() => Op(0x80).Op(2); // PROTO 2

        public Pickle Op(int opcode)
        {
            _bytes.WriteByte((byte)opcode);
            return this;
        }

        public Pickle Global(string module, string name)
        {
            Op('c');
            _bytes.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
            return this;
        }

        public Pickle Text(string text)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(text);
            Op('X');
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
            _bytes.Write(length);
            _bytes.Write(utf8);
            return this;
        }

        public Pickle Int(long value)
        {
            Op('J');
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, checked((int)value));
            _bytes.Write(bytes);
            return this;
        }

        public Pickle Tuple(long[] values)
        {
            Op('(');
            foreach (long v in values) Int(v);
            return Op('t');
        }

        public byte[] Bytes() => _bytes.ToArray();
    }
}
