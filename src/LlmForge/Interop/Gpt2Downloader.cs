using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace LlmForge.Interop;

/// <summary>A download that could not complete; the message names the URL and what to do instead.</summary>
public sealed class DownloadException(string message) : Exception(message);

/// <summary>
/// Fetches OpenAI's GPT-2 weights (<c>config.json</c> and <c>model.safetensors</c>) from their Hugging
/// Face repositories into <see cref="Gpt2Cache"/>. Each file is written to <c>FILE.part</c>, resumed
/// with an HTTP range request after an interruption, checked against the checksum the server
/// publishes (the SHA-256 of a large file, the git blob SHA-1 of a small one), and only then renamed
/// to its name: a loader never sees a partial or unverified file.
/// </summary>
public sealed partial class Gpt2Downloader(HttpClient http, IReadOnlyList<string> endpoints)
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public static readonly string[] Files = ["config.json", "model.safetensors"];

    /// <summary>Called with (file, bytes so far, bytes in all or -1) as data arrives.</summary>
    public Action<string, long, long>? Progress { get; init; }

    /// <summary>An HTTP client that does not follow redirects (their headers carry the checksum) and gives up connecting after 10 s.</summary>
    public static HttpClient CreateClient() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AutomaticDecompression = DecompressionMethods.None,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>Downloads the files of <paramref name="size"/> that are not in the cache yet; returns the cache directory.</summary>
    public async Task<string> DownloadAsync(string size, CancellationToken cancellation = default)
    {
        if (!Gpt2Cache.Repositories.TryGetValue(size, out var repository))
            throw new BadInputException($"--size {size}: expected one of {string.Join(", ", Gpt2Cache.Repositories.Keys)}");
        string directory = Gpt2Cache.Directory(size);
        Directory.CreateDirectory(directory);
        foreach (string file in Files)
        {
            string target = Path.Combine(directory, file);
            if (File.Exists(target)) continue; // only verified files ever get this name
            var failures = new List<string>();
            foreach (string endpoint in endpoints)
            {
                string url = $"{endpoint.TrimEnd('/')}/{repository}/resolve/main/{file}";
                try
                {
                    await DownloadFileAsync(url, target, cancellation);
                    failures.Clear();
                    break;
                }
                catch (DownloadException e)
                {
                    failures.Add(e.Message);
                }
            }
            if (failures.Count > 0)
                throw new DownloadException($"{string.Join("; ", failures)}. Without network, download {string.Join(" and ", Files)} by hand from {DefaultEndpoint}/{repository} and put them in {directory}");
        }
        return directory;
    }

    async Task DownloadFileAsync(string url, string target, CancellationToken cancellation)
    {
        string part = target + ".part";
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        var (response, checksum, total) = await SendAsync(url, have, cancellation);
        using (response)
        {
            bool resumed = response.StatusCode == HttpStatusCode.PartialContent;
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0 && have == total)
            {
                // The part file already holds every byte: only the check remains.
            }
            else if (!response.IsSuccessStatusCode)
            {
                throw new DownloadException($"{url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            }
            else
            {
                if (!resumed) have = 0;
                total = total >= 0 ? total : response.Content.Headers.ContentLength is long length ? have + length : -1;
                await using var output = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
                await using var input = await response.Content.ReadAsStreamAsync(cancellation);
                var buffer = new byte[1 << 20];
                try
                {
                    for (int read; (read = await input.ReadAsync(buffer, cancellation)) > 0;)
                    {
                        await output.WriteAsync(buffer.AsMemory(0, read), cancellation);
                        have += read;
                        Progress?.Invoke(Path.GetFileName(target), have, total);
                    }
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    throw new DownloadException($"{url}: the connection broke after {have:N0} of {(total >= 0 ? total.ToString("N0") : "?")} bytes ({e.Message}); run the command again to resume");
                }
            }
        }

        if (total >= 0 && have != total)
            throw new DownloadException($"{url}: got {have:N0} bytes of {total:N0}; run the command again to resume");
        if (checksum != null)
        {
            string actual = checksum.Length == 64 ? FileHash.Sha256(part) : GitBlobSha1(part);
            if (!actual.Equals(checksum, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(part);
                throw new DownloadException($"{url}: checksum mismatch (the server publishes {checksum}, the file has {actual}); the download was removed, run the command again");
            }
        }
        File.Move(part, target, overwrite: false);
    }

    /// <summary>GET, following redirects by hand: the checksum and size of a large file are on the first reply.</summary>
    async Task<(HttpResponseMessage Response, string? Checksum, long Total)> SendAsync(string url, long from, CancellationToken cancellation)
    {
        string? checksum = null;
        long total = -1;
        var current = new Uri(url);
        for (int hop = 0; hop < 6; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (from > 0) request.Headers.Range = new RangeHeaderValue(from, null);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
            }
            catch (HttpRequestException e)
            {
                throw new DownloadException($"cannot reach {current} ({e.Message})");
            }
            catch (TaskCanceledException) when (!cancellation.IsCancellationRequested)
            {
                throw new DownloadException($"cannot reach {current} (timed out)");
            }
            checksum ??= Checksum(response, "X-Linked-Etag") ?? Checksum(response, "ETag");
            if (total < 0 && Header(response, "X-Linked-Size") is string size && long.TryParse(size, out long linked)) total = linked;
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is Uri location)
            {
                current = location.IsAbsoluteUri ? location : new Uri(current, location);
                response.Dispose();
                continue;
            }
            if (total < 0 && response.Content.Headers.ContentRange?.Length is long rangeLength) total = rangeLength;
            if (total < 0 && response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentLength is long length) total = length;
            return (response, checksum, total);
        }
        throw new DownloadException($"{url}: too many redirects");
    }

    static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>A 64-hex (SHA-256) or 40-hex (git SHA-1) tag; anything else is not a checksum.</summary>
    static string? Checksum(HttpResponseMessage response, string name)
    {
        string? tag = Header(response, name)?.Replace("W/", "").Trim('"');
        return tag != null && HexTag().IsMatch(tag) ? tag.ToLowerInvariant() : null;
    }

    [GeneratedRegex("^([0-9a-fA-F]{64}|[0-9a-fA-F]{40})$")]
    private static partial Regex HexTag();

    /// <summary>Git's blob id, which Hugging Face publishes as the ETag of small (non-LFS) files.</summary>
    public static string GitBlobSha1(string path)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha.AppendData(System.Text.Encoding.ASCII.GetBytes($"blob {new FileInfo(path).Length}\0"));
        using var stream = File.OpenRead(path);
        var buffer = new byte[1 << 16];
        for (int read; (read = stream.Read(buffer)) > 0;) sha.AppendData(buffer, 0, read);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
