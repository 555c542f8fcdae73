using System.IO.Compression;

namespace LlmForge.Interop;

/// <summary>
/// A PyTorch state dict saved with <c>torch.save(model.state_dict(), path)</c>, the way the book saves
/// models: a zip archive holding data.pkl (a pickle naming each tensor's storage, offset, size and
/// stride) and one entry data/KEY per storage. The pickle is read by <see cref="TorchPickle"/>, which
/// builds nothing but tensor references; each tensor is read from its storage only when asked for, as
/// the view torch saved (transposed, sliced, at an offset) made contiguous.
/// </summary>
public sealed class PthStateDict : IWeightSource
{
    /// <summary>Far above any state dict's pickle (GPT-2 XL's is under 100 kB): the pickle is read into memory whole.</summary>
    const int MaxPickleBytes = 64 << 20;

    readonly FileStream _stream;
    readonly ZipArchive _archive;
    readonly string _dataDir;
    readonly Dictionary<string, TorchPickle.TensorView> _tensors = new(StringComparer.Ordinal);

    PthStateDict(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            _archive = new ZipArchive(_stream, ZipArchiveMode.Read, leaveOpen: true);
            // torch.save puts everything under one folder named after the file: NAME/data.pkl, NAME/data/0, ...
            var pickle = _archive.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                ?? throw Bad("no data.pkl in the archive");
            string folder = pickle.FullName[..^"data.pkl".Length];
            _dataDir = folder + "data/";
            if (_archive.GetEntry(folder + "byteorder") is { } byteOrder && ReadText(byteOrder) is var order && order != "little")
                throw Bad($"tensors stored with byte order '{TorchPickle.Shown(order)}'; only little-endian files are read");
            if (pickle.Length > MaxPickleBytes) throw Bad($"data.pkl has {pickle.Length} bytes, more than a state dict's pickle");
            var root = TorchPickle.Load(ReadBytes(pickle), path);
            if (root is not TorchPickle.Dict dict) throw Bad("data.pkl holds no dict of tensors");
            foreach (var (key, value) in dict.Items)
            {
                string name = key as string ?? throw Bad($"a key of the dict is {key}, not a tensor name");
                if (value is not TorchPickle.TensorView view)
                    throw new BadInputException($"{path}: entry '{TorchPickle.Shown(name)}' is not a tensor; expected a state dict (torch.save(model.state_dict()))");
                Check(name, view);
                _tensors[name] = view;
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            Dispose();
            throw Bad($"the zip archive could not be read: {e.Message}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public static PthStateDict Open(string path)
    {
        if (!File.Exists(path)) throw new BadInputException($"{path}: no such file");
        InputFile.RequireRegular(path, "a PyTorch state dict");
        return new PthStateDict(path);
    }

    public string Path { get; }

    public IReadOnlyCollection<string> Names => _tensors.Keys;

    public long[] Shape(string name) => _tensors[name].Size;

    public ScalarType DType(string name) => _tensors[name].Storage.DType;

    public Tensor Read(string name)
    {
        var view = _tensors[name];
        using var storage = ReadStorage(view.Storage, name);
        using var strided = storage.as_strided(view.Size, view.Stride, view.Offset);
        // A transposed or sliced weight comes out as its own contiguous tensor, the values torch showed.
        return strided.contiguous();
    }

    public void ReadInto(string name, Tensor destination)
    {
        using var noGrad = no_grad();
        using var tensor = Read(name);
        using var source = tensor.view(destination.shape);
        destination.copy_(source);
    }

    /// <summary>The view must lie inside its storage and the storage must be in the archive, whole: checked before any model is built.</summary>
    void Check(string name, TorchPickle.TensorView view)
    {
        string tensor = $"tensor '{TorchPickle.Shown(name)}'";
        var (storage, offset, size, stride) = view;
        string described = $"size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}], offset {offset}";
        if (size.Length != stride.Length || offset < 0 || size.Any(s => s < 0) || stride.Any(s => s < 0))
            throw Damaged($"{tensor} has {described}, which is no view of a storage");
        var entry = _archive.GetEntry(_dataDir + storage.Key)
            ?? throw Damaged($"{tensor} needs storage data/{TorchPickle.Shown(storage.Key)}, which the archive lacks");
        try
        {
            long bytes = checked(storage.Elements * ElementSize(storage.DType));
            // Sizes come from the file: a storage must be there, whole, before memory is set aside for it.
            if (entry.Length < bytes || entry.CompressedLength > _stream.Length || bytes > checked(entry.CompressedLength * MaxDeflateRatio))
                throw Damaged($"{tensor}: storage data/{TorchPickle.Shown(storage.Key)} does not hold the {bytes} bytes of its {storage.Elements} elements");
            if (size.Contains(0)) return;
            // The last element the view reaches: offset + sum((size - 1) * stride).
            long last = offset;
            for (int i = 0; i < size.Length; i++) last = checked(last + (size[i] - 1) * stride[i]);
            if (last >= storage.Elements)
                throw Damaged($"{tensor} ({described}) reaches element {last} of a storage of {storage.Elements}");
            _ = checked(size.Aggregate(1L, (a, s) => a * s) * ElementSize(storage.DType));
        }
        catch (OverflowException)
        {
            throw Damaged($"{tensor} ({described}) has sizes beyond 2^63");
        }
    }

    /// <summary>Deflate cannot expand data more than about 1032 times.</summary>
    const long MaxDeflateRatio = 1032;

    /// <summary>A storage as a one-dimensional tensor, read from the archive in pieces a span can hold.</summary>
    Tensor ReadStorage(TorchPickle.Storage storage, string name)
    {
        var tensor = empty(storage.Elements, storage.DType);
        try
        {
            using var stream = _archive.GetEntry(_dataDir + storage.Key)!.Open();
            long chunk = (1L << 30) / ElementSize(storage.DType);
            for (long start = 0; start < storage.Elements; start += chunk)
            {
                using var piece = tensor.narrow(0, start, Math.Min(chunk, storage.Elements - start));
                stream.ReadExactly(piece.bytes);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            tensor.Dispose();
            throw Damaged($"tensor '{TorchPickle.Shown(name)}': storage data/{TorchPickle.Shown(storage.Key)} could not be read whole ({e.Message})");
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        return tensor;
    }

    static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    static byte[] ReadBytes(ZipArchiveEntry entry)
    {
        var bytes = new byte[entry.Length];
        using var stream = entry.Open();
        stream.ReadExactly(bytes);
        return bytes;
    }

    static string ReadText(ZipArchiveEntry entry) =>
        entry.Length > 16 ? "(long text)" : System.Text.Encoding.ASCII.GetString(ReadBytes(entry)).Trim();

    /// <summary>The file is not what torch.save writes for a state dict.</summary>
    BadInputException Bad(string what) => new($"{Path}: not a PyTorch state dict ({what})");

    /// <summary>A state dict whose tensors do not fit their storages.</summary>
    BadInputException Damaged(string what) => new($"{Path}: {what}");

    public void Dispose()
    {
        _archive?.Dispose();
        _stream.Dispose();
    }
}
