using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace LlmForge.Tests;

/// <summary>
/// A local HTTP server that serves GPT-2 files the way Hugging Face does: <c>config.json</c> directly
/// with its git blob id as ETag, <c>model.safetensors</c> by a redirect that carries its SHA-256 and
/// size, range requests answered with 206 (416 past the end). It can also misbehave: cut a transfer
/// short, stall in the middle of one, never answer, lie about a checksum or publish none, serve other
/// bytes (a captive portal's page), redirect to a non-HTTP URL, or fail.
/// </summary>
sealed class FakeHub : IDisposable
{
    readonly HttpListener _listener = new();
    readonly CancellationTokenSource _stopped = new();
    readonly byte[] _model, _config;
    readonly string _configPath;
    int _modelRequests, _stalls;

    public FakeHub(string configPath, string modelPath)
    {
        _configPath = configPath;
        _config = File.ReadAllBytes(configPath);
        _model = File.ReadAllBytes(modelPath);
        int port = FreePort();
        Url = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Url + "/");
        _listener.Start();
        _ = Task.Run(Serve);
    }

    public string Url { get; }

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

    async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            // Each request on its own task, so that one held open does not hold up the others.
            _ = Task.Run(async () =>
            {
                try { await Handle(context); }
                catch (Exception) { try { context.Response.Abort(); } catch (Exception) { } }
            });
        }
    }

    async Task Handle(HttpListenerContext context)
    {
        var response = context.Response;
        string path = context.Request.Url!.AbsolutePath;
        lock (Requests) Requests.Add(path);
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
        response.StatusCode = 404;
        response.Close();
    }

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
    }
}
