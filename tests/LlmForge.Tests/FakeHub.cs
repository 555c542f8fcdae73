using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace LlmForge.Tests;

/// <summary>
/// A local HTTP server that serves GPT-2 files the way Hugging Face does: <c>config.json</c> directly
/// with its git blob id as ETag, <c>model.safetensors</c> by a redirect that carries its SHA-256 and
/// size, range requests answered with 206 (416 past the end). It can also misbehave: cut a transfer
/// short, stall in the middle of one, never answer, lie about a checksum or publish none, serve other
/// bytes (a captive portal's page), redirect to a non-HTTP URL, or fail. It also serves model repositories
/// (<see cref="Repos"/>) as the hub does: the API's file list, gated repositories that want a token,
/// Hugging Face's <c>X-Error-Code</c>s, and safetensors files by a redirect to a CDN on another port.
/// </summary>
sealed class FakeHub : IDisposable
{
    readonly HttpListener _listener = new(), _cdn = new();
    readonly CancellationTokenSource _stopped = new();
    readonly byte[] _model, _config;
    readonly string _configPath;
    int _modelRequests, _stalls;

    public FakeHub(string configPath, string modelPath)
    {
        _configPath = configPath;
        _config = File.ReadAllBytes(configPath);
        _model = File.ReadAllBytes(modelPath);
        Url = $"http://127.0.0.1:{FreePort()}";
        _listener.Prefixes.Add(Url + "/");
        _listener.Start();
        _ = Task.Run(() => Serve(_listener, Handle));
        CdnUrl = $"http://127.0.0.1:{FreePort()}";
        _cdn.Prefixes.Add(CdnUrl + "/");
        _cdn.Start();
        _ = Task.Run(() => Serve(_cdn, HandleCdn));
    }

    public string Url { get; }

    /// <summary>Another origin, where the hub redirects for a repository's safetensors files (as huggingface.co does to its CDN).</summary>
    public string CdnUrl { get; }

    /// <summary>Model repositories by OWNER/NAME.</summary>
    public Dictionary<string, Repo> Repos { get; } = [];

    /// <summary>A mirror without the hub's API: <c>/api/...</c> is a plain 404.</summary>
    public bool NoApi { get; set; }

    /// <summary>The first transfer of the named file (from the CDN) stops after this many bytes.</summary>
    public Dictionary<string, int> CutOnce { get; } = [];

    /// <summary>Every request to the hub and the CDN: its whole URL and its Authorization header.</summary>
    public List<(string Url, string? Authorization)> Seen { get; } = [];

    /// <summary>A model repository: its files at each revision, and the token that opens it when it is gated.</summary>
    public sealed class Repo
    {
        public Dictionary<string, Dictionary<string, byte[]>> Revisions { get; } = [];

        public Dictionary<string, byte[]> Main => Revisions.TryGetValue("main", out var files) ? files : Revisions["main"] = [];

        /// <summary>Files are served only with "Authorization: Bearer GATE" (401 without one, 403 with another), as a gated repository's are.</summary>
        public string? Gate { get; set; }
    }

    /// <summary>The first transfer of the model stops after this many bytes.</summary>
    public int? CutModelAfter { get; set; }

    /// <summary>Transfers of the model send up to this byte of the file, then hold the connection open and send nothing.</summary>
    public int? StallModelAt { get; set; }

    /// <summary>How many transfers stall at <see cref="StallModelAt"/>; the later ones go through.</summary>
    public int StallTimes { get; set; } = int.MaxValue;

    /// <summary>Requests are accepted and never answered.</summary>
    public bool NeverAnswer { get; set; }

    public bool WrongChecksum { get; set; }

    /// <summary>No ETag and no X-Linked-Etag, as a plain web server or a captive portal.</summary>
    public bool NoChecksum { get; set; }

    /// <summary>Bytes served as config.json instead of the real one.</summary>
    public byte[]? ConfigInstead { get; set; }

    /// <summary>Bytes served as model.safetensors instead of the real one.</summary>
    public byte[]? ModelInstead { get; set; }

    /// <summary>config.json is answered with a 302 to this location.</summary>
    public string? RedirectConfigTo { get; set; }

    public int? FailWith { get; set; }

    public List<string> Ranges { get; } = [];

    /// <summary>The path of every request, in order.</summary>
    public List<string> Requests { get; } = [];

    public string ModelSha256 => Convert.ToHexStringLower(SHA256.HashData(_model));

    public int RequestsFor(string path)
    {
        lock (Requests) return Requests.Count(p => p == path);
    }

    static async Task Serve(HttpListener listener, Func<HttpListenerContext, Task> handle)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception) { return; }
            // Each request on its own task, so that one held open does not hold up the others.
            _ = Task.Run(async () =>
            {
                try { await handle(context); }
                catch (Exception) { try { context.Response.Abort(); } catch (Exception) { } }
            });
        }
    }

    async Task Handle(HttpListenerContext context)
    {
        var response = context.Response;
        string path = context.Request.Url!.AbsolutePath;
        lock (Requests) Requests.Add(path);
        lock (Seen) Seen.Add((Url + path, context.Request.Headers["Authorization"]));
        if (NeverAnswer)
        {
            await Hold();
            response.Abort();
            return;
        }
        if (FailWith is int status)
        {
            response.StatusCode = status;
            response.Close();
            return;
        }
        if (path == "/openai-community/gpt2/resolve/main/config.json")
        {
            if (RedirectConfigTo is string location)
            {
                response.StatusCode = 302;
                response.Headers["Location"] = location;
                response.Close();
                return;
            }
            byte[] config = ConfigInstead ?? _config;
            if (!NoChecksum) response.Headers["ETag"] = $"\"{LlmForge.Interop.Gpt2Downloader.GitBlobSha1(_configPath)}\"";
            response.ContentLength64 = config.Length;
            response.OutputStream.Write(config);
            response.Close();
            return;
        }
        byte[] model = ModelInstead ?? _model;
        if (path == "/openai-community/gpt2/resolve/main/model.safetensors")
        {
            response.StatusCode = 302;
            response.Headers["Location"] = "/cdn/model.safetensors";
            if (!NoChecksum)
            {
                response.Headers["X-Linked-Etag"] = $"\"{(WrongChecksum ? new string('0', 64) : ModelSha256)}\"";
                response.Headers["X-Linked-Size"] = model.Length.ToString();
            }
            response.Close();
            return;
        }
        if (path == "/cdn/model.safetensors")
        {
            string? range = context.Request.Headers["Range"];
            lock (Ranges) Ranges.Add(range ?? "");
            long from = range != null ? long.Parse(range["bytes=".Length..].TrimEnd('-')) : 0;
            if (from >= model.Length)
            {
                // As Hugging Face's CDN does for a range past the end.
                response.StatusCode = 416;
                response.Headers["Content-Range"] = $"bytes */{model.Length}";
                response.Close();
                return;
            }
            if (range != null)
            {
                response.StatusCode = 206;
                response.Headers["Content-Range"] = $"bytes {from}-{model.Length - 1}/{model.Length}";
            }
            response.ContentLength64 = model.Length - from;
            if (Interlocked.Increment(ref _modelRequests) == 1 && CutModelAfter is int cut)
            {
                response.OutputStream.Write(model, (int)from, cut);
                response.OutputStream.Flush();
                response.Abort();
                return;
            }
            if (StallModelAt is int stall && stall >= from && Interlocked.Increment(ref _stalls) <= StallTimes)
            {
                response.OutputStream.Write(model, (int)from, (int)(stall - from));
                response.OutputStream.Flush();
                await Hold();
                response.Abort();
                return;
            }
            response.OutputStream.Write(model, (int)from, (int)(model.Length - from));
            response.Close();
            return;
        }
        string[] parts = path.Split('/');
        if (parts.Length == 7 && parts[1] == "api" && parts[2] == "models" && parts[5] == "revision")
        {
            if (!NoApi) ServeListing(response, $"{parts[3]}/{parts[4]}", Uri.UnescapeDataString(parts[6]));
            else Fail(response, 404, null);
            return;
        }
        if (parts.Length == 6 && parts[3] == "resolve")
        {
            ServeFile(context, $"{parts[1]}/{parts[2]}", Uri.UnescapeDataString(parts[4]), parts[5]);
            return;
        }
        response.StatusCode = 404;
        response.Close();
    }

    /// <summary>What <c>GET /api/models/OWNER/NAME/revision/REV</c> answers: public even for a gated repository.</summary>
    void ServeListing(HttpListenerResponse response, string id, string revision)
    {
        if (!Repos.TryGetValue(id, out var repo)) { Fail(response, 401, "RepoNotFound"); return; }
        if (!repo.Revisions.TryGetValue(revision, out var files)) { Fail(response, 404, "RevisionNotFound"); return; }
        var listing = new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = id,
            ["sha"] = new string('a', 40),
            ["gated"] = repo.Gate != null ? "manual" : false,
            ["siblings"] = new System.Text.Json.Nodes.JsonArray(files.Keys.Order().Select(f => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject { ["rfilename"] = f }).ToArray()),
        };
        byte[] body = System.Text.Encoding.UTF8.GetBytes(listing.ToJsonString());
        response.ContentType = "application/json";
        response.ContentLength64 = body.Length;
        response.OutputStream.Write(body);
        response.Close();
    }

    /// <summary><c>/OWNER/NAME/resolve/REV/FILE</c>: a small file directly with its git blob id, a safetensors file by a redirect to the CDN.</summary>
    void ServeFile(HttpListenerContext context, string id, string revision, string file)
    {
        var response = context.Response;
        if (!Repos.TryGetValue(id, out var repo)) { Fail(response, 401, "RepoNotFound"); return; }
        if (repo.Gate != null && context.Request.Headers["Authorization"] != $"Bearer {repo.Gate}")
        {
            Fail(response, context.Request.Headers["Authorization"] == null ? 401 : 403, "GatedRepo");
            return;
        }
        if (!repo.Revisions.TryGetValue(revision, out var files)) { Fail(response, 404, "RevisionNotFound"); return; }
        if (!files.TryGetValue(file, out var bytes)) { Fail(response, 404, "EntryNotFound"); return; }
        if (file.EndsWith(".safetensors"))
        {
            response.StatusCode = 302;
            response.Headers["Location"] = $"{CdnUrl}/lfs/{id}/{Uri.EscapeDataString(revision)}/{file}";
            response.Headers["X-Linked-Etag"] = $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))}\"";
            response.Headers["X-Linked-Size"] = bytes.Length.ToString();
            response.Close();
            return;
        }
        response.Headers["ETag"] = $"\"{GitBlobSha1(bytes)}\"";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
        response.Close();
    }

    /// <summary>The CDN: <c>/lfs/OWNER/NAME/REV/FILE</c>, with range requests, no token needed.</summary>
    Task HandleCdn(HttpListenerContext context)
    {
        var response = context.Response;
        string path = context.Request.Url!.AbsolutePath;
        lock (Seen) Seen.Add((CdnUrl + path, context.Request.Headers["Authorization"]));
        string[] parts = path.Split('/');
        if (parts.Length != 6 || parts[1] != "lfs" || !Repos.TryGetValue($"{parts[2]}/{parts[3]}", out var repo)
            || !repo.Revisions.TryGetValue(Uri.UnescapeDataString(parts[4]), out var files) || !files.TryGetValue(parts[5], out var bytes))
        {
            Fail(response, 404, null);
            return Task.CompletedTask;
        }
        string? range = context.Request.Headers["Range"];
        lock (Ranges) Ranges.Add(range ?? "");
        long from = range != null ? long.Parse(range["bytes=".Length..].TrimEnd('-')) : 0;
        if (from >= bytes.Length)
        {
            response.StatusCode = 416;
            response.Headers["Content-Range"] = $"bytes */{bytes.Length}";
            response.Close();
            return Task.CompletedTask;
        }
        if (range != null)
        {
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
        }
        response.ContentLength64 = bytes.Length - from;
        int after;
        bool cut;
        lock (CutOnce) cut = CutOnce.Remove(parts[5], out after);
        if (cut)
        {
            response.OutputStream.Write(bytes, (int)from, after);
            response.OutputStream.Flush();
            response.Abort();
            return Task.CompletedTask;
        }
        response.OutputStream.Write(bytes, (int)from, (int)(bytes.Length - from));
        response.Close();
        return Task.CompletedTask;
    }

    /// <summary>An error as the hub sends it, with its X-Error-Code (what huggingface_hub tells errors apart by).</summary>
    static void Fail(HttpListenerResponse response, int status, string? errorCode)
    {
        response.StatusCode = status;
        if (errorCode != null) response.Headers["X-Error-Code"] = errorCode;
        response.Close();
    }

    static string GitBlobSha1(byte[] bytes) =>
        Convert.ToHexStringLower(SHA1.HashData([.. System.Text.Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));

    /// <summary>Waits until the hub is disposed: a server that has gone quiet.</summary>
    async Task Hold()
    {
        try { await Task.Delay(Timeout.Infinite, _stopped.Token); }
        catch (OperationCanceledException) { }
    }

    static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose()
    {
        _stopped.Cancel();
        _listener.Close();
        _cdn.Close();
    }
}
