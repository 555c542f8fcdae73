namespace LlmForge.Interop;

/// <summary>
/// Fetches OpenAI's GPT-2 weights (<c>config.json</c> and <c>model.safetensors</c>) from their Hugging
/// Face repositories into <see cref="Gpt2Cache"/>, each file checked for being a GPT-2 config or a whole
/// safetensors file as well as against its checksum (<see cref="HubDownloader"/>).
/// </summary>
public sealed class Gpt2Downloader(HttpClient http, IReadOnlyList<string> endpoints) : HubDownloader(http, endpoints)
{
    public static readonly string[] Files = ["config.json", "model.safetensors"];

    /// <summary>Downloads the files of <paramref name="size"/> that are not in the cache yet; returns the cache directory.</summary>
    public async Task<string> DownloadAsync(string size, CancellationToken cancellation = default)
    {
        if (!Gpt2Cache.Repositories.TryGetValue(size, out var repository))
            throw new BadInputException($"--size {size}: expected one of {string.Join(", ", Gpt2Cache.Repositories.Keys)}");
        CheckEndpoints();
        string directory = Gpt2Cache.Directory(size);
        Directory.CreateDirectory(directory);
        string ByHand(bool offline) => $". Without network, download {string.Join(" and ", Files)} by hand from {DefaultEndpoint}/{repository} and put them in {directory}";
        foreach (string file in Files)
            await FetchAsync(repository, "main", file, directory, optional: false, ByHand, cancellation);
        return directory;
    }

    protected override string? Problem(string file, string path) => DownloadedFileCheck.Problem(file, path);
}
