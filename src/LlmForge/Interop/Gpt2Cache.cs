namespace LlmForge.Interop;

/// <summary>
/// Where downloaded GPT-2 weights live: <c>$LLMFORGE_CACHE</c> or <c>~/.cache/llmforge</c>, one directory
/// per size (<c>gpt2-124M/</c> with <c>model.safetensors</c> and <c>config.json</c>, as Hugging Face ships them).
/// </summary>
public static class Gpt2Cache
{
    /// <summary>The sizes and the Hugging Face repositories they come from.</summary>
    public static readonly IReadOnlyDictionary<string, string> Repositories = new Dictionary<string, string>
    {
        ["124M"] = "openai-community/gpt2",
        ["355M"] = "openai-community/gpt2-medium",
        ["774M"] = "openai-community/gpt2-large",
        ["1558M"] = "openai-community/gpt2-xl",
    };

    public static string Root => Environment.GetEnvironmentVariable("LLMFORGE_CACHE") is { Length: > 0 } root
        ? root
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "llmforge");

    public static string Directory(string size) => Path.Combine(Root, $"gpt2-{size}");

    /// <summary>The size named by <paramref name="spec"/> (<c>gpt2-124M</c>), or null for anything else.</summary>
    public static string? SizeOf(string spec) =>
        spec.StartsWith("gpt2-", StringComparison.Ordinal) && Repositories.ContainsKey(spec[5..]) ? spec[5..] : null;

    /// <summary>
    /// A path unchanged; a size name as its cache directory, which must hold the downloaded files; a Hugging
    /// Face repository's name (<c>qwen3-0.6b</c>, <c>Qwen/Qwen3-0.6B</c>) as <see cref="HfCache.Resolve"/> gives it.
    /// </summary>
    public static string Resolve(string spec)
    {
        if (System.IO.Directory.Exists(spec) || File.Exists(spec)) return spec;
        if (SizeOf(spec) is not string size) return HfCache.Resolve(spec);
        string directory = Directory(size);
        if (!File.Exists(Path.Combine(directory, "model.safetensors")) || !File.Exists(Path.Combine(directory, "config.json")))
            throw new BadInputException($"{spec} is not downloaded: run 'llmforge download gpt2 --size {size}', or put model.safetensors and config.json from https://huggingface.co/{Repositories[size]} into {directory}");
        return directory;
    }
}
