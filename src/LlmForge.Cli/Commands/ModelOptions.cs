using System.CommandLine;

namespace LlmForge.Cli.Commands;

/// <summary>Options shared by commands that take a model.</summary>
static class ModelOptions
{
    public static Option<string> Model() => new("--model")
    {
        Description = "a model: Hugging Face GPT-2 directory or .safetensors file, LlmForge checkpoint directory, or PyTorch .pth state dict",
        Required = true,
    };

    public static Option<string> Config() => new("--config")
    {
        Description = "the model's config JSON (book keys or Hugging Face keys), for a .pth file with none beside it",
    };

    public static Option<int> Threads() => new("--threads") { Description = "libtorch threads (default: libtorch's choice)" };

    public static void ApplyThreads(int threads)
    {
        if (threads < 0) throw new BadInputException($"--threads must be at least 1, got {threads}");
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
    }
}
