using System.Text.Json;

namespace LlmForge.Interop;

/// <summary>
/// Fetches what it takes to run a model of a Hugging Face repository into <see cref="HfCache"/>:
/// <c>config.json</c>, <c>generation_config.json</c> (if the repository has one), <c>tokenizer.json</c>,
/// <c>tokenizer_config.json</c> (if any) and the weights, <c>model.safetensors</c> or
/// <c>model.safetensors.index.json</c> and every shard it names; small files first, so that an
/// interrupted download never leaves weights without their config. The file list comes from the hub's API
/// (<c>GET /api/models/OWNER/NAME/revision/REV</c>, whose <c>siblings</c> name every file); on a mirror
/// without that API the index is tried, then <c>model.safetensors</c>. Only safetensors weights are fetched:
/// a repository with pickled weights alone (<c>pytorch_model.bin</c>) is refused before anything is written.
/// </summary>
public sealed class HfRepoDownloader(HttpClient http, IReadOnlyList<string> endpoints) : HubDownloader(http, endpoints)
{
    const string SingleFile = "model.safetensors", IndexFile = DownloadedFileCheck.IndexFile;

    /// <summary>Files every download needs, then files fetched when the repository has them.</summary>
    static readonly string[] Required = ["config.json", "tokenizer.json"], Optional = ["generation_config.json", "tokenizer_config.json"];

    /// <summary>Weights in formats LlmForge does not download (pickles and others), named when they are all a repository has.</summary>
    static readonly string[] OtherWeights = [".bin", ".pth", ".pt", ".ckpt", ".h5", ".msgpack", ".gguf"];

    /// <summary>Downloads what is not in the cache yet of <paramref name="repository"/> (OWNER/NAME) at <paramref name="revision"/>; returns the cache directory.</summary>
    public async Task<string> DownloadAsync(string repository, string revision = HfCache.Main, CancellationToken cancellation = default)
    {
        if (!HfCache.IsRepository(repository)) throw new BadInputException($"--repo {repository}: expected OWNER/NAME, a Hugging Face model repository");
        if (!HfCache.IsRevision(revision)) throw new BadInputException($"--revision {revision}: expected a branch, tag or commit (letters, digits, '.', '_', '-', '/')");
        CheckEndpoints();
        string directory = HfCache.Directory(repository, revision);
        string at = revision == HfCache.Main ? "" : $" (revision {revision})";
        string ByHand(bool offline) => offline
            ? $". Without network, download {string.Join(", ", Required)}, {string.Join(", ", Optional)} and the safetensors weights by hand from {DefaultEndpoint}/{repository}{at} and put them in {directory}"
            : "";

        var listing = await ListAsync(repository, revision, ByHand, cancellation);
        string? weights = null;
        if (listing != null)
        {
            // Everything that can be refused from the list is refused before a directory is made.
            if (listing.Gated && Token == null) throw Gated(repository, listing.Endpoint);
            foreach (string file in Required)
                if (!listing.Files.Contains(file))
                    throw new BadInputException($"{repository}{at} has no {file}: not a model repository in the layout LlmForge reads ({string.Join(", ", Required)}, safetensors weights)");
            weights = listing.Files.Contains(IndexFile) ? IndexFile
                : listing.Files.Contains(SingleFile) ? SingleFile
                : throw NoSafetensors(repository, at, listing.Files);
        }

        bool made = !Directory.Exists(directory);
        Directory.CreateDirectory(directory);
        try
        {
            await FetchAllAsync(repository, revision, at, directory, listing, weights, ByHand, cancellation);
        }
        catch when (made && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            // Refused at the first file (a gated repository behind a mirror without the API): no empty directory is left.
            Directory.Delete(directory);
            throw;
        }
        return directory;
    }

    async Task FetchAllAsync(string repository, string revision, string at, string directory, Listing? listing, string? weights, Func<bool, string> byHand, CancellationToken cancellation)
    {
        foreach (string file in Required.Concat(Optional))
        {
            bool optional = Optional.Contains(file);
            if (listing != null && optional && !listing.Files.Contains(file)) continue;
            await FetchAsync(repository, revision, file, directory, optional: listing == null && optional, byHand, cancellation);
        }

        if (listing == null)
        {
            // No list: the index if the server has one, else a single file.
            weights = await FetchAsync(repository, revision, IndexFile, directory, optional: true, byHand, cancellation) ? IndexFile
                : await FetchAsync(repository, revision, SingleFile, directory, optional: true, byHand, cancellation) ? SingleFile
                : throw new DownloadException($"{repository}{at}: {string.Join(" and ", Endpoints)} serve neither {IndexFile} nor {SingleFile}; LlmForge downloads safetensors weights only");
        }
        else
        {
            await FetchAsync(repository, revision, weights!, directory, optional: false, byHand, cancellation);
        }
        if (weights == IndexFile)
        {
            var shards = DownloadedFileCheck.Shards(Path.Combine(directory, IndexFile));
            if (listing != null && shards.FirstOrDefault(s => !listing.Files.Contains(s)) is string absent)
                throw new DownloadException($"{repository}{at}: {IndexFile} names the shard {absent}, which the repository does not have; no shard was downloaded");
            foreach (string shard in shards)
            {
                try
                {
                    await FetchAsync(repository, revision, shard, directory, optional: false, byHand, cancellation);
                }
                catch (DownloadException e) when (e.Status == 404)
                {
                    throw new DownloadException($"{repository}{at}: {IndexFile} names the shard {shard}, which the server does not have ({e.Message})");
                }
            }
        }
    }

    protected override string? Problem(string file, string path) => DownloadedFileCheck.RepoFileProblem(file, path);

    /// <summary>The repository's files as the hub's API lists them, and whether it is gated.</summary>
    sealed record Listing(HashSet<string> Files, bool Gated, string Endpoint);

    /// <summary>The first listing an endpoint gives; null when none has the API (only then are files probed).</summary>
    async Task<Listing?> ListAsync(string repository, string revision, Func<bool, string> byHand, CancellationToken cancellation)
    {
        var failures = new List<DownloadException>();
        foreach (string endpoint in Endpoints)
        {
            string url = $"{endpoint.TrimEnd('/')}/api/models/{repository}/revision/{Uri.EscapeDataString(revision)}";
            try
            {
                using var document = await GetJsonAsync(url, cancellation);
                if (document != null && ListingOf(document.RootElement, endpoint) is Listing listing) return listing;
            }
            catch (DownloadException e)
            {
                if (Decisive(e, endpoint, repository, revision) is Exception decisive) throw decisive;
                failures.Add(e);
            }
        }
        // No endpoint answered at all: probing for files would only fail the same way, and slower.
        if (failures.Count == Endpoints.Count && failures.All(f => f.Status == null))
            throw new DownloadException($"{string.Join("; ", failures.Select(f => f.Message))}{byHand(true)}");
        return null;
    }

    /// <summary>The <c>siblings</c> (<c>rfilename</c>) and <c>gated</c> (false, "auto" or "manual") of a model's description; null when it is not one.</summary>
    static Listing? ListingOf(JsonElement root, string endpoint)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("siblings", out var siblings) || siblings.ValueKind != JsonValueKind.Array) return null;
        var files = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sibling in siblings.EnumerateArray())
            if (sibling.ValueKind == JsonValueKind.Object && sibling.TryGetProperty("rfilename", out var name) && name.ValueKind == JsonValueKind.String)
                files.Add(name.GetString()!);
        bool gated = root.TryGetProperty("gated", out var flag) && flag.ValueKind is JsonValueKind.String or JsonValueKind.True;
        return new Listing(files, gated, endpoint);
    }

    static BadInputException NoSafetensors(string repository, string at, IEnumerable<string> files)
    {
        var others = files.Where(f => OtherWeights.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase))).Order(StringComparer.Ordinal).ToList();
        if (others.Count == 0) return new BadInputException($"{repository}{at} has no {SingleFile} and no {IndexFile}: no weights LlmForge can download");
        string named = string.Join(", ", others.Take(2)) + (others.Count > 2 ? $" and {others.Count - 2} more" : "");
        return new BadInputException($"{repository}{at} has its weights only as {named}, not safetensors; LlmForge downloads {SingleFile} or {IndexFile} with its shards only");
    }

    /// <summary>What the user must do when the hub wants an access token they have not given.</summary>
    BadInputException Gated(string repository, string endpoint)
    {
        string hub = endpoint.TrimEnd('/');
        if (Token != null && !TokenGoesTo(endpoint))
            return new BadInputException($"{repository} is gated on {hub}, and HF_TOKEN goes only to {Endpoints[0].TrimEnd('/')}: set LLMFORGE_HF_ENDPOINT={hub} to use it there");
        return new BadInputException($"{repository} is gated: accept its licence on {hub}/{repository}, then set HF_TOKEN to an access token of that account ({hub}/settings/tokens)");
    }

    /// <summary>
    /// The hub's refusals, told by their <c>X-Error-Code</c>: a gated repository (or a 401/403 without a
    /// code), a repository or revision that does not exist. Each needs the user to act, so they are bad
    /// input (exit 2), and no other endpoint is asked.
    /// </summary>
    protected override Exception? Decisive(DownloadException failure, string endpoint, string repository, string revision)
    {
        string hub = endpoint.TrimEnd('/');
        bool sent = TokenGoesTo(endpoint);
        return failure.ErrorCode switch
        {
            // Hugging Face answers 401 RepoNotFound for a private repository too, to anyone without access.
            "RepoNotFound" => new BadInputException($"{repository}: no such repository on {hub}{(sent ? " that HF_TOKEN gives access to" : " (if it is private, set HF_TOKEN)")}"),
            "RevisionNotFound" => new BadInputException($"--revision {revision}: {repository} on {hub} has no such branch, tag or commit"),
            "GatedRepo" when sent => new BadInputException($"{repository} is gated and {hub} refused HF_TOKEN for it (HTTP {failure.Status}): accept its licence on {hub}/{repository} with the account the token belongs to, or check the token"),
            // Without a code: an expired or mistyped token is refused even for a public repository.
            _ when failure.Status is 401 or 403 && sent => new BadInputException($"{hub} refused HF_TOKEN for {repository} (HTTP {failure.Status}): check the token; for a gated repository, accept its licence on {hub}/{repository} with the token's account"),
            _ when failure.ErrorCode == "GatedRepo" || failure.Status is 401 or 403 => Gated(repository, endpoint),
            _ => null,
        };
    }
}
