using System.Buffers.Binary;
using System.Text.Json;

namespace LlmForge.Interop;

/// <summary>
/// The weights of a Hugging Face model directory as one <see cref="IWeightSource"/>: <c>model.safetensors</c>,
/// or the shards that <c>model.safetensors.index.json</c> lists (its <c>weight_map</c> names the file of each
/// tensor), as the larger Llama and Qwen3 repositories ship them. Every shard is opened and checked up front:
/// a missing shard, or a tensor absent from the shard the index places it in, is bad input naming both.
/// Besides whole tensors it reads runs of rows (<see cref="ReadRowsInto"/>), so that a tensor converted to
/// another dtype goes through a small buffer rather than a copy of its own size.
/// </summary>
public sealed class SafeTensorsShards : IWeightSource
{
    public const string SingleFile = "model.safetensors", IndexFile = "model.safetensors.index.json";

    readonly Dictionary<string, SafeTensorsFile> _fileOf = new(StringComparer.Ordinal);
    readonly List<SafeTensorsFile> _files = [];
    readonly Dictionary<SafeTensorsFile, (long DataStart, Dictionary<string, long> Begin)> _offsets = [];

    SafeTensorsShards(string path) => Path = path;

    /// <summary>The file named in messages: <c>model.safetensors</c>, or the index.</summary>
    public string Path { get; }

    public IReadOnlyCollection<string> Names => _fileOf.Keys;

    /// <summary>Whether <paramref name="directory"/> holds weights in this layout.</summary>
    public static bool Exists(string directory) =>
        File.Exists(System.IO.Path.Combine(directory, SingleFile)) || File.Exists(System.IO.Path.Combine(directory, IndexFile));

    /// <summary>Opens <c>model.safetensors</c> in <paramref name="directory"/>, or else the shards of its index.</summary>
    public static SafeTensorsShards Open(string directory)
    {
        string single = System.IO.Path.Combine(directory, SingleFile), index = System.IO.Path.Combine(directory, IndexFile);
        var source = new SafeTensorsShards(File.Exists(single) || !File.Exists(index) ? single : index);
        try
        {
            if (source.Path == single)
            {
                if (!File.Exists(single)) throw new BadInputException($"{directory}: no {SingleFile} or {IndexFile}");
                var file = source.Add(single);
                foreach (string name in file.Names) source._fileOf[name] = file;
            }
            else
            {
                source.OpenShards(index, directory);
            }
        }
        catch
        {
            source.Dispose();
            throw;
        }
        return source;
    }

    void OpenShards(string index, string directory)
    {
        InputFile.RequireRegular(index, "a safetensors index (JSON)");
        using var document = JsonInput.Parse(File.ReadAllText(index), index);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new BadInputException($"{index}: expected an object with a 'weight_map' of tensor names to shard files");
        var tensorsOf = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            string? shard = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null;
            // A shard is a file beside the index: no directories, nothing outside.
            if (string.IsNullOrEmpty(shard) || shard != System.IO.Path.GetFileName(shard) || shard is "." or "..")
                throw new BadInputException($"{index}: 'weight_map' places '{entry.Name}' in {entry.Value.GetRawText()}; expected a file name beside the index");
            if (!tensorsOf.TryGetValue(shard, out var names)) tensorsOf[shard] = names = [];
            names.Add(entry.Name);
        }
        if (tensorsOf.Count == 0) throw new BadInputException($"{index}: 'weight_map' lists no tensors");
        foreach (var (shard, names) in tensorsOf)
        {
            string path = System.IO.Path.Combine(directory, shard);
            if (!File.Exists(path))
            {
                string more = names.Count > 1 ? $" and {names.Count - 1} more" : "";
                throw new BadInputException($"{index}: shard '{shard}' is missing ('{names[0]}'{more} should be in it)");
            }
            var file = Add(path);
            foreach (string name in names)
            {
                if (!file.Names.Contains(name))
                    throw new BadInputException($"{path}: has no tensor '{name}', which {IndexFile} places in it");
                _fileOf[name] = file;
            }
        }
    }

    SafeTensorsFile Add(string path)
    {
        var file = SafeTensorsFile.Open(path);
        _files.Add(file);
        return file;
    }

    public long[] Shape(string name) => _fileOf[name].Shape(name);

    public ScalarType DType(string name) => _fileOf[name].DType(name);

    public Tensor Read(string name) => _fileOf[name].Read(name);

    public void ReadInto(string name, Tensor destination) => _fileOf[name].ReadInto(name, destination);

    /// <summary>
    /// Reads rows <paramref name="firstRow"/> onwards of tensor <paramref name="name"/> (rows along its first
    /// dimension; a 1-D tensor is one row) into <paramref name="destination"/>: contiguous, the stored dtype,
    /// a whole number of rows.
    /// </summary>
    public void ReadRowsInto(string name, long firstRow, Tensor destination)
    {
        var file = _fileOf[name];
        long[] shape = file.Shape(name);
        long rows = shape.Length >= 2 ? shape[0] : 1;
        long rowBytes = shape.Aggregate(1L, (a, d) => a * d) / Math.Max(rows, 1) * destination.ElementSize;
        long bytes = destination.numel() * destination.ElementSize;
        if (destination.dtype != file.DType(name) || !destination.is_contiguous() || rowBytes == 0 || bytes % rowBytes != 0
            || firstRow < 0 || firstRow + bytes / rowBytes > rows)
            throw new ArgumentException($"rows {firstRow}.. of tensor '{name}' cannot be read into a {destination.dtype} tensor of shape [{string.Join(", ", destination.shape)}]");
        var (dataStart, begin) = OffsetsOf(file);
        using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        stream.Position = dataStart + begin[name] + firstRow * rowBytes;
        try
        {
            stream.ReadExactly(destination.bytes[..checked((int)bytes)]);
        }
        catch (EndOfStreamException e)
        {
            throw new BadInputException($"{file.Path}: tensor '{name}' could not be read whole ({e.Message})");
        }
    }

    /// <summary>Where each tensor's bytes begin: the header was checked when the file was opened, only the offsets are read again.</summary>
    (long DataStart, Dictionary<string, long> Begin) OffsetsOf(SafeTensorsFile file)
    {
        if (_offsets.TryGetValue(file, out var known)) return known;
        using var stream = File.OpenRead(file.Path);
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        var header = new byte[checked((int)BinaryPrimitives.ReadUInt64LittleEndian(length))];
        stream.ReadExactly(header);
        using var document = JsonDocument.Parse(header);
        var begin = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in document.RootElement.EnumerateObject())
            if (entry.Name != "__metadata__") begin[entry.Name] = entry.Value.GetProperty("data_offsets")[0].GetInt64();
        return _offsets[file] = (8 + header.Length, begin);
    }

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }
}
