using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace LlmForge.Interop;

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw little-endian data. Reading is
/// one tensor at a time, straight into the tensor's memory, so a whole model never sits in memory twice.
/// </summary>
public sealed class SafeTensorsFile : IWeightSource
{
    readonly FileStream _stream;
    readonly long _dataStart;
    readonly Dictionary<string, (ScalarType DType, long[] Shape, long Begin, long End)> _entries = new(StringComparer.Ordinal);

    SafeTensorsFile(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            ReadHeader(out _dataStart);
        }
        catch
        {
            _stream.Dispose();
            throw;
        }
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    public IReadOnlyCollection<string> Names => _entries.Keys;

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new BadInputException($"{path}: no such file");
        return new SafeTensorsFile(path);
    }

    public long[] Shape(string name) => _entries[name].Shape;

    public ScalarType DType(string name) => _entries[name].DType;

    /// <summary>A new tensor with the stored dtype and shape.</summary>
    public Tensor Read(string name)
    {
        var tensor = empty(_entries[name].Shape, _entries[name].DType);
        try
        {
            ReadInto(name, tensor);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        return tensor;
    }

    public void ReadInto(string name, Tensor destination)
    {
        var (dtype, _, begin, end) = _entries[name];
        if (destination.dtype != dtype || !destination.is_contiguous() || destination.numel() * ElementSize(dtype) != end - begin)
            throw new ArgumentException($"tensor '{name}' cannot be read into a {destination.dtype} tensor of shape [{string.Join(", ", destination.shape)}]");
        try
        {
            _stream.Position = _dataStart + begin;
            _stream.ReadExactly(destination.bytes[..checked((int)(end - begin))]);
        }
        catch (Exception e) when (e is EndOfStreamException or OverflowException)
        {
            throw new BadInputException($"{Path}: tensor '{name}' could not be read whole ({e.Message})");
        }
    }

    void ReadHeader(out long dataStart)
    {
        long fileLength = _stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (fileLength < 8 || _stream.Read(lengthBytes) != 8) throw Bad("too short for a safetensors header");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength == 0 || headerLength > 100_000_000 || (long)headerLength > fileLength - 8)
            throw Bad($"header length {headerLength} does not fit a file of {fileLength} bytes");
        var header = new byte[headerLength];
        _stream.ReadExactly(header);
        dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonObject root;
        try
        {
            root = JsonNode.Parse(Encoding.UTF8.GetString(header)) as JsonObject ?? throw Bad("header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw Bad($"header is not valid JSON ({e.Message})");
        }
        foreach (var (name, value) in root)
        {
            if (name == "__metadata__")
            {
                Metadata = (value as JsonObject)?.ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "") ?? new Dictionary<string, string>();
                continue;
            }
            if (value is not JsonObject entry || entry["dtype"] is not JsonValue dtypeNode
                || entry["shape"] is not JsonArray shapeNode || entry["data_offsets"] is not JsonArray offsets || offsets.Count != 2)
                throw Bad($"tensor '{name}' needs dtype, shape and data_offsets");
            var dtype = ParseDType(dtypeNode.ToString(), name);
            long[] shape = shapeNode.Select(d => d!.GetValue<long>()).ToArray();
            long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
            if (begin < 0 || end < begin || end > dataLength)
                throw Bad($"tensor '{name}' has data offsets [{begin}, {end}) outside the {dataLength} data bytes");
            long expected = shape.Aggregate(1L, (a, d) => a * d) * ElementSize(dtype);
            if (end - begin != expected)
                throw Bad($"tensor '{name}' of shape [{string.Join(", ", shape)}] needs {expected} bytes, its offsets give {end - begin}");
            _entries[name] = (dtype, shape, begin, end);
        }
    }

    static ScalarType ParseDType(string dtype, string name) => dtype switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new BadInputException($"tensor '{name}': dtype {dtype} is not supported"),
    };

    static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float64 => "F64",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new ArgumentException($"dtype {dtype} cannot be written to safetensors"),
    };

    static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 => 2,
        _ => 1,
    };

    BadInputException Bad(string what) => new($"{Path}: {what}");

    /// <summary>Writes <paramref name="tensors"/> (in the given order) to <paramref name="path"/>, through a temporary file and a rename.</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 }) header["__metadata__"] = new JsonObject(metadata.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value)));
        long offset = 0;
        foreach (var (name, tensor) in list)
        {
            long bytes = tensor.numel() * ElementSize(tensor.dtype);
            header[name] = new JsonObject
            {
                ["dtype"] = DTypeName(tensor.dtype),
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode?)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        int padding = (8 - headerBytes.Length % 8) % 8;
        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)(headerBytes.Length + padding));
            stream.Write(lengthBytes);
            stream.Write(headerBytes);
            for (int i = 0; i < padding; i++) stream.WriteByte((byte)' ');
            foreach (var (_, tensor) in list)
            {
                using var contiguous = tensor.contiguous();
                using var cpu = contiguous.cpu();
                stream.Write(cpu.bytes);
            }
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    public void Dispose() => _stream.Dispose();
}
