namespace LlmForge;

/// <summary>
/// Where a model runs: <c>cpu</c>, <c>cuda</c>, or <c>auto</c> (CUDA when this build of libtorch has it).
/// The package decides what is possible: <c>TorchSharp-cpu</c> (the default build) has no CUDA; a build
/// with <c>-p:TorchSharpPackage=TorchSharp-cuda-linux</c> has it where an NVIDIA GPU is present.
/// </summary>
public static class ComputeDevice
{
    /// <summary>"cpu" or "cuda" for <paramref name="name"/>; an impossible choice is bad input naming the option.</summary>
    public static string Resolve(string? name, string option = "--device") => name switch
    {
        null or "cpu" => "cpu",
        "auto" => cuda.is_available() ? "cuda" : "cpu",
        "cuda" => cuda.is_available() ? "cuda"
            : throw new BadInputException($"{option} cuda: this build of LlmForge has no CUDA (it uses TorchSharp-cpu, or no GPU is present); build with -p:TorchSharpPackage=TorchSharp-cuda-linux on a machine with an NVIDIA GPU, or use --device cpu"),
        _ => throw new BadInputException($"{option} {name}: expected cpu, cuda or auto"),
    };

    public static Device Of(string resolved) => resolved == "cuda" ? CUDA : CPU;

    /// <summary>Moves <paramref name="model"/> to a device that <see cref="Resolve"/> gave; models are built on the CPU.</summary>
    public static void MoveTo(Model.ILanguageModel model, string resolved)
    {
        if (resolved != "cpu") model.Module.to(Of(resolved));
    }
}
