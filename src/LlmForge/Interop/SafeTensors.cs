using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using System.Text.Json;
using System.Text.Json.Nodes;

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

    /// <summary>The bytes after the header, where the tensors lie.</summary>
    public long DataLength => _stream.Length - _dataStart;

    /// <summary>
    /// Whether the tensors fill the data bytes exactly, as every writer lays them out: no hole, nothing
    /// after the last. Overlaps are refused on opening, so the sizes adding up to the data is enough.
    /// A truncated download or one with bytes appended fails this while its header still reads.
    /// </summary>
    public bool FillsItsData => _entries.Values.Sum(e => e.End - e.Begin) == DataLength;

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new BadInputException($"{path}: no such file");
        InputFile.RequireRegular(path, "a safetensors file");
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
        if (fileLength < 8 || _stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) != 8) throw Bad("too short for a safetensors header");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength == 0 || headerLength > 100_000_000 || (long)headerLength > fileLength - 8)
            throw Bad($"header length {headerLength} does not fit a file of {fileLength} bytes");
        var header = new byte[headerLength];
        _stream.ReadExactly(header);
        dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;
        if (!Utf8.IsValid(header)) throw Bad("header is not UTF-8 text");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Bad($"header is not valid JSON ({e.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad("header is not a JSON object");
            RequireUniqueKeys(root, name => $"header names {Show(name)} twice");
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind == JsonValueKind.Object)
                        Metadata = property.Value.EnumerateObject().ToDictionary(
                            p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());
                    continue;
                }
                _entries[property.Name] = ParseEntry(property.Name, property.Value, dataLength);
            }
        }
        RequireNoOverlap();
    }

    /// <summary>One tensor's dtype, shape and byte range, each checked: whole numbers, sizes that add up, inside the data.</summary>
    (ScalarType DType, long[] Shape, long Begin, long End) ParseEntry(string name, JsonElement entry, long dataLength)
    {
        string tensor = $"tensor {Show(name)}";
        if (name.Any(char.IsControl)) throw Bad($"{tensor} has a control character in its name");
        if (entry.ValueKind != JsonValueKind.Object
            || !entry.TryGetProperty("dtype", out var dtypeNode) || !entry.TryGetProperty("shape", out var shapeNode)
            || !entry.TryGetProperty("data_offsets", out var offsetsNode))
            throw Bad($"{tensor} needs dtype, shape and data_offsets");
        RequireUniqueKeys(entry, key => $"{tensor} has {Show(key)} twice");
        if (dtypeNode.ValueKind != JsonValueKind.String) throw Bad($"{tensor}: dtype must be a string such as \"F32\", got {Raw(dtypeNode)}");
        var dtype = ParseDType(dtypeNode.GetString()!, tensor);
        if (shapeNode.ValueKind != JsonValueKind.Array) throw Bad($"{tensor}: shape must be a list of sizes, got {Raw(shapeNode)}");
        long[] shape = shapeNode.EnumerateArray().Select(d => WholeNumber(d, tensor, "shape")).ToArray();
        if (offsetsNode.ValueKind != JsonValueKind.Array || offsetsNode.GetArrayLength() != 2)
            throw Bad($"{tensor}: data_offsets must be [begin, end], got {Raw(offsetsNode)}");
        long begin = WholeNumber(offsetsNode[0], tensor, "data_offsets"), end = WholeNumber(offsetsNode[1], tensor, "data_offsets");
        if (end < begin || end > dataLength)
            throw Bad($"{tensor} has data offsets [{begin}, {end}) outside the {dataLength} data bytes");
        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (a, d) => a * d) * ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw Bad($"{tensor} of shape {ShowShape(shape)} would take more than 2^63 bytes");
        }
        if (end - begin != expected)
            throw Bad($"{tensor} of shape {ShowShape(shape)} needs {expected} bytes, its offsets give {end - begin}");
        return (dtype, shape, begin, end);
    }

    /// <summary>A size or an offset: a JSON integer from 0 to 2^63 - 1 (no fractions, no exponents, no strings).</summary>
    long WholeNumber(JsonElement node, string tensor, string field) =>
        node.ValueKind == JsonValueKind.Number && node.TryGetInt64(out long value) && value >= 0
            ? value
            : throw Bad($"{tensor}: {field} must hold whole numbers from 0 to 2^63-1, got {Raw(node)}");

    /// <summary>JSON readers disagree on which of two equal keys wins, so a header with both is ambiguous: refuse it.</summary>
    void RequireUniqueKeys(JsonElement obj, Func<string, string> twice)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
            if (!seen.Add(property.Name)) throw Bad(twice(property.Name));
    }

    /// <summary>Two tensors sharing bytes would alias each other's weights; the format forbids it.</summary>
    void RequireNoOverlap()
    {
        string? previous = null;
        long previousEnd = 0;
        foreach (var (name, (_, _, begin, end)) in _entries.Where(e => e.Value.End > e.Value.Begin).OrderBy(e => e.Value.Begin))
        {
            if (previous != null && begin < previousEnd)
                throw Bad($"tensors {Show(previous)} and {Show(name)} overlap (bytes [{_entries[previous].Begin}, {previousEnd}) and [{begin}, {end}))");
            previous = name;
            previousEnd = end;
        }
    }

    ScalarType ParseDType(string dtype, string tensor) => dtype switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw Bad($"{tensor} has dtype {Show(dtype)}, which is not supported (F32, F16, BF16, F64, I64, I32, U8, BOOL are)"),
    };

    /// <summary>A name or value from the file, quoted and escaped onto one line, cut short if long.</summary>
    static string Show(string text) => "'" + Escape(text.Length > 100 ? text[..100] + "..." : text) + "'";

    static string Raw(JsonElement node)
    {
        string raw = node.GetRawText();
        return Escape(raw.Length > 40 ? raw[..40] + "..." : raw);
    }

    static string Escape(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    static string ShowShape(long[] shape) => $"[{string.Join(", ", shape)}]";

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
