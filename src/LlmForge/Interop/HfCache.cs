using System.Text.RegularExpressions;

namespace LlmForge.Interop;

/// <summary>
/// Where downloaded Hugging Face model repositories live (<c>hf/OWNER/NAME/</c> under
/// <see cref="Gpt2Cache.Root"/>, <c>hf/OWNER/NAME@REVISION/</c> for a revision other than main), and the
/// short names of the models LlmForge knows (<c>qwen3-0.6b</c> for <c>Qwen/Qwen3-0.6B</c>).
/// </summary>
public static partial class HfCache
{
    public const string Main = "main";

    /// <summary>Short names and the repositories they stand for (any letter case).</summary>
    public static readonly IReadOnlyDictionary<string, string> Names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["llama3.2-1b"] = "meta-llama/Llama-3.2-1B",
        ["llama3.2-1b-instruct"] = "meta-llama/Llama-3.2-1B-Instruct",
        ["llama3.2-3b"] = "meta-llama/Llama-3.2-3B",
        ["llama3.2-3b-instruct"] = "meta-llama/Llama-3.2-3B-Instruct",
        ["qwen3-0.6b"] = "Qwen/Qwen3-0.6B",
        ["qwen3-0.6b-base"] = "Qwen/Qwen3-0.6B-Base",
        ["qwen3-1.7b"] = "Qwen/Qwen3-1.7B",
        ["qwen3-1.7b-base"] = "Qwen/Qwen3-1.7B-Base",
        ["qwen3-4b"] = "Qwen/Qwen3-4B",
        ["qwen3-4b-base"] = "Qwen/Qwen3-4B-Base",
        ["qwen3-8b"] = "Qwen/Qwen3-8B",
        ["qwen3-8b-base"] = "Qwen/Qwen3-8B-Base",
    };

    /// <summary>The short name of <paramref name="repository"/>, written as in <see cref="Names"/>; null when it has none.</summary>
    public static string? ShortName(string repository) =>
        Names.FirstOrDefault(n => n.Value.Equals(repository, StringComparison.Ordinal)).Key;

    /// <summary>A repository id as the hub spells them: OWNER/NAME, letters, digits, '.', '_' and '-', no '..'.</summary>
    public static bool IsRepository(string text) => RepositoryId().IsMatch(text) && !text.Contains("..");

    /// <summary>A branch, tag or commit: letters, digits, '.', '_', '-' and '/', no '..', starting with a letter, digit or '_'.</summary>
    public static bool IsRevision(string text) => RevisionText().IsMatch(text) && !text.Contains("..") && !text.Contains("//") && !text.EndsWith('/');

    /// <summary>The repository and revision <paramref name="text"/> names: a short name, OWNER/NAME or OWNER/NAME@REVISION; null for anything else.</summary>
    public static (string Repository, string Revision)? Parse(string text)
    {
        if (Names.TryGetValue(text, out var named)) return (named, Main);
        int at = text.IndexOf('@');
        string repository = at < 0 ? text : text[..at], revision = at < 0 ? Main : text[(at + 1)..];
        return IsRepository(repository) && IsRevision(revision) ? (repository, revision) : null;
    }

    /// <summary>The cache directory of <paramref name="repository"/> at <paramref name="revision"/>.</summary>
    public static string Directory(string repository, string revision = Main)
    {
        string[] parts = repository.Split('/');
        // '+' is no revision character, so branch names with '/' map to distinct directory names.
        string name = revision == Main ? parts[1] : $"{parts[1]}@{revision.Replace('/', '+')}";
        return Path.Combine(Gpt2Cache.Root, "hf", parts[0], name);
    }

    /// <summary>
    /// Null when <paramref name="directory"/> holds a whole download: <c>config.json</c>, <c>tokenizer.json</c>
    /// and the weights (<c>model.safetensors</c>, or <c>model.safetensors.index.json</c> and every shard it
    /// names); otherwise the first thing missing. A <c>.part</c> file is never taken for its file.
    /// </summary>
    public static string? Missing(string directory)
    {
        foreach (string file in (string[])["config.json", "tokenizer.json"])
            if (!File.Exists(Path.Combine(directory, file))) return file;
        string index = Path.Combine(directory, DownloadedFileCheck.IndexFile);
        if (!File.Exists(index)) return File.Exists(Path.Combine(directory, "model.safetensors")) ? null : "model.safetensors";
        IReadOnlyList<string> shards;
        try
        {
            shards = DownloadedFileCheck.Shards(index);
        }
        catch (BadInputException)
        {
            return $"a usable {DownloadedFileCheck.IndexFile}";
        }
        return shards.FirstOrDefault(shard => !File.Exists(Path.Combine(directory, shard)));
    }

    /// <summary>
    /// A short name or OWNER/NAME[@REVISION] as its cache directory once downloaded; anything else (a path,
    /// a path that exists) unchanged. A name not downloaded yet is bad input saying how to download it.
    /// </summary>
    public static string Resolve(string spec)
    {
        if (System.IO.Directory.Exists(spec) || File.Exists(spec) || Parse(spec) is not var (repository, revision)) return spec;
        string directory = Directory(repository, revision);
        if (Missing(directory) is not string missing) return directory;
        string command = Names.ContainsKey(spec)
            ? $"llmforge download {Names.Keys.First(k => k.Equals(spec, StringComparison.OrdinalIgnoreCase))}"
            : $"llmforge download --repo {repository}{(revision == Main ? "" : $" --revision {revision}")}";
        if (Names.ContainsKey(spec))
            throw new BadInputException($"{spec} is not downloaded: run '{command}', or put config.json, tokenizer.json and the safetensors weights from {HubDownloader.DefaultEndpoint}/{repository} into {directory}");
        // OWNER/NAME is also a relative path: one whose first folder exists here is left to the loader's own message.
        if (System.IO.Directory.Exists(repository.Split('/')[0])) return spec;
        throw new BadInputException($"{spec}: no such model file or directory, and not downloaded from Hugging Face (no {missing} in {directory}): run '{command}'");
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex RepositoryId();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$")]
    private static partial Regex RevisionText();
}
