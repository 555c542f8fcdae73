using System.Collections;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LlmForge.Interop;

/// <summary>
/// A PyTorch state dict saved with <c>torch.save(model.state_dict(), path)</c> (zip + pickle), the way
/// the book saves models. Unpickled by TorchSharp.PyBridge, which holds every tensor at once.
/// </summary>
public sealed class PthStateDict : IWeightSource
{
    readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);

    PthStateDict(string path)
    {
        Path = path;
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (Exception e) when (e is not BadInputException)
        {
            throw new BadInputException($"{path}: not a PyTorch state dict ({e.GetType().Name}: {e.Message})");
        }
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string name && entry.Value is Tensor tensor) _tensors[name] = tensor;
            else throw new BadInputException($"{path}: entry '{entry.Key}' is not a tensor; expected a state dict (torch.save(model.state_dict()))");
        }
    }

    public static PthStateDict Open(string path)
    {
        if (!File.Exists(path)) throw new BadInputException($"{path}: no such file");
        return new PthStateDict(path);
    }

    public string Path { get; }

    public IReadOnlyCollection<string> Names => _tensors.Keys;

    public long[] Shape(string name) => _tensors[name].shape;

    public ScalarType DType(string name) => _tensors[name].dtype;

    public Tensor Read(string name) => _tensors[name].clone();

    public void ReadInto(string name, Tensor destination)
    {
        using var noGrad = no_grad();
        using var source = _tensors[name].view(destination.shape);
        destination.copy_(source);
    }

    public void Dispose()
    {
        foreach (var tensor in _tensors.Values) tensor.Dispose();
    }
}
