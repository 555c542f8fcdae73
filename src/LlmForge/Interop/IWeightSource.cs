namespace LlmForge.Interop;

/// <summary>Named tensors in a file, read one at a time: a safetensors file or a PyTorch state dict.</summary>
public interface IWeightSource : IDisposable
{
    /// <summary>The file, for error messages.</summary>
    string Path { get; }

    IReadOnlyCollection<string> Names { get; }

    long[] Shape(string name);

    ScalarType DType(string name);

    /// <summary>A new tensor the caller disposes.</summary>
    Tensor Read(string name);

    /// <summary>Reads the tensor straight into <paramref name="destination"/>: contiguous, same dtype, same number of elements.</summary>
    void ReadInto(string name, Tensor destination);
}
