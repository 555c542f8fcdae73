using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmForge.Interop;

/// <summary>
/// Fetches files of Hugging Face repositories (GPT-2's in <see cref="Gpt2Downloader"/>, any model's in
/// <see cref="HfRepoDownloader"/>) from the hub or a mirror into a cache directory. Each file is written
/// to <c>FILE.part</c>, resumed with an HTTP range request after an interruption, checked against the
/// checksum the server publishes (the SHA-256 of a large file, the git blob SHA-1 of a small one) and for
/// being a well-formed file of its kind, and only then renamed to its name: a loader never sees a partial
/// or unverified file. A server that stops answering is given up after <see cref="IdleTimeout"/> and
/// tried again <see cref="Retries"/> times; then the next endpoint is tried.
/// </summary>
public abstract partial class HubDownloader(HttpClient http, IReadOnlyList<string> endpoints)
{
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Called with (file, bytes so far, bytes in all or -1) as data arrives.</summary>
    public Action<string, long, long>? Progress { get; set; }

    /// <summary>Called with one line worth telling the user that does not stop the download.</summary>
    public Action<string>? Warning { get; set; }

    /// <summary>How long a connection, a reply or the next piece of data may take before a try is given up.</summary>
    public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

    /// <summary>Tries after the first one for a time-out, a broken connection or a server error (5xx, 408, 429).</summary>
    public int Retries { get; set; } = 3;

    /// <summary>The wait before the first retry; it doubles for each further one.</summary>
    public TimeSpan Backoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A Hugging Face access token (<c>HF_TOKEN</c>), sent as <c>Authorization: Bearer</c> to the hub only:
    /// the first endpoint's scheme, host and port. A mirror (<c>--source</c>) or the host a redirect leads
    /// to (a CDN with signed URLs) never sees it; it is never part of a message.
    /// </summary>
    public string? Token { get; set; }

    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(30);

    protected IReadOnlyList<string> Endpoints => endpoints;

    /// <summary>An HTTP client that does not follow redirects (their headers carry the checksum, and each target is checked) and gives up connecting after <paramref name="connectTimeout"/>.</summary>
    public static HttpClient CreateClient(TimeSpan? connectTimeout = null) => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        ConnectTimeout = connectTimeout ?? DefaultIdleTimeout,
        AutomaticDecompression = DecompressionMethods.None,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary><c>HF_TOKEN</c> from the environment, without surrounding white space; null when unset or empty.</summary>
    public static string? TokenFromEnvironment()
    {
        string? token = Environment.GetEnvironmentVariable("HF_TOKEN")?.Trim();
        if (string.IsNullOrEmpty(token)) return null;
        // Checked here, so that an HTTP library's complaint (which would quote it) never sees a bad one.
        if (!token.All(c => c is > ' ' and <= '~'))
            throw new BadInputException("HF_TOKEN: expected an access token (printable characters without spaces), as https://huggingface.co/settings/tokens gives");
        return token;
    }

    /// <summary>Whether <see cref="Token"/> goes to <paramref name="endpoint"/>.</summary>
    protected bool TokenGoesTo(string endpoint) => Token != null && SameOrigin(new Uri(endpoint), new Uri(endpoints[0]));

    static bool SameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    /// <summary>Every endpoint must be an http or https URL before anything is fetched or created.</summary>
    protected void CheckEndpoints()
    {
        foreach (string endpoint in endpoints) HttpUrl.Parse(endpoint, "download source");
    }

    protected static string FileUrl(string endpoint, string repository, string revision, string file) =>
        $"{endpoint.TrimEnd('/')}/{repository}/resolve/{Uri.EscapeDataString(revision)}/{file}";

    /// <summary>Null when <paramref name="path"/> (downloaded, or in the cache already) is a usable <paramref name="file"/>; otherwise why not, in a few words.</summary>
    protected abstract string? Problem(string file, string path);

    /// <summary>An answer that settles the matter whatever the other endpoints would say (a gated repository, one that does not exist), as the exception to throw; null to try the next endpoint.</summary>
    protected virtual Exception? Decisive(DownloadException failure, string endpoint, string repository, string revision) => null;

    /// <summary>
    /// Puts <paramref name="file"/> of <paramref name="repository"/> at <paramref name="revision"/> into
    /// <paramref name="directory"/> unless a usable copy is there already, trying each endpoint in turn.
    /// False when <paramref name="optional"/> and every endpoint answered 404. <paramref name="byHand"/>
    /// gives the end of the message when all fail; its argument says whether some endpoint gave no answer at all.
    /// </summary>
    protected async Task<bool> FetchAsync(string repository, string revision, string file, string directory, bool optional, Func<bool, string> byHand, CancellationToken cancellation)
    {
        string target = Path.Combine(directory, file);
        bool replace = false;
        if (File.Exists(target))
        {
            // A file in the cache came from here or by hand; either way it must be what its name says.
            if (Problem(file, target) is not string problem) return true;
            Warning?.Invoke($"{target} is not a usable {file} ({problem}); fetching it again");
            replace = true;
        }
        var failures = new List<DownloadException>();
        foreach (string endpoint in endpoints)
        {
            string url = FileUrl(endpoint, repository, revision, file);
            try
            {
                await WithRetriesAsync(async () => { await DownloadFileAsync(url, target, replace, cancellation); return true; }, target + ".part", cancellation);
                return true;
            }
            catch (DownloadException e)
            {
                if (Decisive(e, endpoint, repository, revision) is Exception decisive) throw decisive;
                failures.Add(e);
            }
        }
        if (optional && failures.All(f => f.Status == 404)) return false;
        int? status = failures.Select(f => f.Status).Distinct().Count() == 1 ? failures[0].Status : null;
        throw new DownloadException($"{string.Join("; ", failures.Select(f => f.Message))}{byHand(failures.Any(f => f.Status == null))}") { Status = status };
    }

    /// <summary>
    /// A JSON document of the hub's API, through the same time-outs, retries and redirect rules as a file;
    /// null when the server answers with something that is not JSON (a plain mirror's page).
    /// </summary>
    protected Task<JsonDocument?> GetJsonAsync(string url, CancellationToken cancellation) => WithRetriesAsync(async () =>
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var (response, _, _) = await SendAsync(url, 0, idle, cancellation);
        using (response)
        {
            if (!response.IsSuccessStatusCode) throw HttpError(url, response);
            var body = new MemoryStream();
            try
            {
                await using var input = await response.Content.ReadAsStreamAsync(idle.Token);
                var buffer = new byte[1 << 16];
                while (true)
                {
                    idle.CancelAfter(IdleTimeout);
                    int read = await input.ReadAsync(buffer, idle.Token);
                    if (read == 0) break;
                    body.Write(buffer, 0, read);
                    if (body.Length > MaxApiAnswer) throw new DownloadException($"{url}: the answer is over {MaxApiAnswer:N0} bytes, too long for a repository's description");
                }
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                throw new DownloadException($"{url}: no data for {Seconds(IdleTimeout)}", transient: true);
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                throw new DownloadException($"{url}: the connection broke ({e.Message})", transient: true);
            }
            try
            {
                return JsonDocument.Parse(body.ToArray());
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }, part: null, cancellation);

    const int MaxApiAnswer = 64 << 20;

    /// <summary>Runs <paramref name="action"/> again after a transient failure, <see cref="Retries"/> times, waiting longer each time.</summary>
    async Task<T> WithRetriesAsync<T>(Func<Task<T>> action, string? part, CancellationToken cancellation)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await action();
            }
            catch (DownloadException e) when (e.Transient)
            {
                if (attempt < Retries)
                {
                    await Task.Delay(Backoff * Math.Pow(2, attempt), cancellation);
                    continue;
                }
                string tries = attempt == 0 ? "" : $" ({attempt + 1} tries)";
                bool partial = part != null && File.Exists(part) && new FileInfo(part).Length > 0;
                throw new DownloadException($"{e.Message}{tries}{(partial ? "; run the command again to resume" : "")}") { Status = e.Status, ErrorCode = e.ErrorCode };
            }
        }
    }

    async Task DownloadFileAsync(string url, string target, bool replace, CancellationToken cancellation)
    {
        string file = Path.GetFileName(target);
        string part = target + ".part";
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        // One timer for this try, pushed back whenever the server answers or sends data.
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var (response, checksum, total) = await SendAsync(url, have, idle, cancellation);
        if (have > 0 && PartIsStale(response, have, total))
        {
            // The part is longer than the remote file (it changed, or the part came from elsewhere): a range
            // request would fail the same way on every try, so this file starts over.
            response.Dispose();
            Warning?.Invoke($"{part} holds {have:N0} bytes, more than the {(total >= 0 ? total.ToString("N0") : "?")} of {url}; starting that file over");
            File.Delete(part);
            have = 0;
            (response, checksum, total) = await SendAsync(url, have, idle, cancellation);
        }
        using (response)
        {
            bool resumed = response.StatusCode == HttpStatusCode.PartialContent;
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0 && have == total)
            {
                // The part file already holds every byte: only the check remains.
            }
            else if (!response.IsSuccessStatusCode)
            {
                throw HttpError(url, response);
            }
            else
            {
                if (!resumed) have = 0;
                total = total >= 0 ? total : response.Content.Headers.ContentLength is long length ? have + length : -1;
                await using var output = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
                var buffer = new byte[1 << 20];
                try
                {
                    await using var input = await response.Content.ReadAsStreamAsync(idle.Token);
                    while (true)
                    {
                        idle.CancelAfter(IdleTimeout);
                        int read = await input.ReadAsync(buffer, idle.Token);
                        if (read == 0) break;
                        await output.WriteAsync(buffer.AsMemory(0, read), cancellation);
                        have += read;
                        Progress?.Invoke(file, have, total);
                    }
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    throw new DownloadException($"{url}: no data for {Seconds(IdleTimeout)} after {have:N0} of {Count(total)} bytes", transient: true);
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    throw new DownloadException($"{url}: the connection broke after {have:N0} of {Count(total)} bytes ({e.Message})", transient: true);
                }
            }
        }

        if (total >= 0 && have != total)
            throw new DownloadException($"{url}: got {have:N0} bytes of {total:N0}", transient: have < total);
        if (checksum != null)
        {
            string actual = checksum.Length == 64 ? FileHash.Sha256(part) : GitBlobSha1(part);
            if (!actual.Equals(checksum, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(part);
                throw new DownloadException($"{url}: checksum mismatch (the server publishes {checksum}, the file has {actual}); the download was removed, run the command again");
            }
        }
        if (Problem(file, part) is string problem)
        {
            File.Delete(part);
            string noChecksum = checksum == null ? " and the server publishes no checksum" : "";
            throw new DownloadException($"{url}: the file is not a usable {file} ({problem}){noChecksum}; nothing was kept");
        }
        if (checksum == null)
            Warning?.Invoke($"{url}: the server publishes no checksum; the file was only checked to be a well-formed {file}");
        File.Move(part, target, overwrite: replace);
    }

    /// <summary>An error answer as a failure; Hugging Face's <c>X-Error-Code</c> says what kind (a gated repository, no such revision...).</summary>
    static DownloadException HttpError(string url, HttpResponseMessage response)
    {
        int status = (int)response.StatusCode;
        return new DownloadException($"{url}: HTTP {status} {response.ReasonPhrase}", transient: status is >= 500 or 408 or 429)
        {
            Status = status,
            ErrorCode = Header(response, "X-Error-Code"),
        };
    }

    /// <summary>Whether a range request from <paramref name="have"/> cannot continue the part file.</summary>
    static bool PartIsStale(HttpResponseMessage response, long have, long total) => response.StatusCode switch
    {
        HttpStatusCode.RequestedRangeNotSatisfiable => have != total,
        HttpStatusCode.PartialContent => response.Content.Headers.ContentRange is not { } range
            || range.From != have || range.Length is long length && length < have,
        _ => false, // 200 (the range was ignored) starts over anyway; an error is reported as such
    };

    /// <summary>GET, following redirects by hand (to http or https only): the checksum and size of a large file are on the first reply.</summary>
    async Task<(HttpResponseMessage Response, string? Checksum, long Total)> SendAsync(string url, long from, CancellationTokenSource idle, CancellationToken cancellation)
    {
        string? checksum = null;
        long total = -1;
        var current = new Uri(url);
        var hub = new Uri(endpoints[0]);
        for (int hop = 0; hop < 6; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (from > 0) request.Headers.Range = new RangeHeaderValue(from, null);
            // Decided again at every hop: a redirect to another host (a CDN's signed URL) goes without the token.
            if (Token != null && SameOrigin(current, hub)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            HttpResponseMessage response;
            idle.CancelAfter(IdleTimeout);
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle.Token);
            }
            catch (HttpRequestException e)
            {
                throw new DownloadException($"cannot reach {current} ({e.Message})", transient: !IsRefusal(e));
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                throw new DownloadException($"{current}: no answer within {Seconds(IdleTimeout)}", transient: true);
            }
            checksum ??= Checksum(response, "X-Linked-Etag") ?? Checksum(response, "ETag");
            if (total < 0 && Header(response, "X-Linked-Size") is string size && long.TryParse(size, out long linked)) total = linked;
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is Uri location)
            {
                var next = location.IsAbsoluteUri ? location : new Uri(current, location);
                response.Dispose();
                if (!HttpUrl.IsHttp(next))
                    throw new BadInputException($"{current} redirects to {next}: only http and https URLs are followed");
                current = next;
                continue;
            }
            if (total < 0 && response.Content.Headers.ContentRange?.Length is long rangeLength) total = rangeLength;
            if (total < 0 && response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentLength is long length) total = length;
            return (response, checksum, total);
        }
        throw new DownloadException($"{url}: too many redirects");
    }

    /// <summary>No network, no such host, or nothing listening: another try a second later would say the same.</summary>
    static bool IsRefusal(HttpRequestException e) =>
        e.HttpRequestError == HttpRequestError.NameResolutionError
        || e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.HostNotFound };

    static string Seconds(TimeSpan time) => $"{time.TotalSeconds:0.###} s";

    static string Count(long total) => total >= 0 ? total.ToString("N0") : "?";

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
