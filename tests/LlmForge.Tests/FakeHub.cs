using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace LlmForge.Tests;

/// <summary>
/// A local HTTP server that serves GPT-2 files the way Hugging Face does: <c>config.json</c> directly
/// with its git blob id as ETag, <c>model.safetensors</c> by a redirect that carries its SHA-256 and
/// size, range requests answered with 206. It can cut a transfer short, lie about a checksum, or fail.
/// </summary>
sealed class FakeHub : IDisposable
{
    readonly HttpListener _listener = new();
    readonly byte[] _model, _config;
    readonly string _configPath;
    int _modelRequests;

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

    public bool WrongChecksum { get; set; }

    public int? FailWith { get; set; }

    public List<string> Ranges { get; } = [];

    public string ModelSha256 => Convert.ToHexStringLower(SHA256.HashData(_model));

    async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            try { Handle(context); }
            catch (Exception) { context.Response.Abort(); }
        }
    }

    void Handle(HttpListenerContext context)
    {
        var response = context.Response;
        string path = context.Request.Url!.AbsolutePath;
        if (FailWith is int status)
        {
            response.StatusCode = status;
            response.Close();
            return;
        }
        if (path == "/openai-community/gpt2/resolve/main/config.json")
        {
            response.Headers["ETag"] = $"\"{LlmForge.Interop.Gpt2Downloader.GitBlobSha1(_configPath)}\"";
            response.ContentLength64 = _config.Length;
            response.OutputStream.Write(_config);
            response.Close();
            return;
        }
        if (path == "/openai-community/gpt2/resolve/main/model.safetensors")
        {
            response.StatusCode = 302;
            response.Headers["Location"] = "/cdn/model.safetensors";
            response.Headers["X-Linked-Etag"] = $"\"{(WrongChecksum ? new string('0', 64) : ModelSha256)}\"";
            response.Headers["X-Linked-Size"] = _model.Length.ToString();
            response.Close();
            return;
        }
        if (path == "/cdn/model.safetensors")
        {
            string? range = context.Request.Headers["Range"];
            lock (Ranges) Ranges.Add(range ?? "");
            long from = range != null ? long.Parse(range["bytes=".Length..].TrimEnd('-')) : 0;
            if (range != null)
            {
                response.StatusCode = 206;
                response.Headers["Content-Range"] = $"bytes {from}-{_model.Length - 1}/{_model.Length}";
            }
            response.ContentLength64 = _model.Length - from;
            if (Interlocked.Increment(ref _modelRequests) == 1 && CutModelAfter is int cut)
            {
                response.OutputStream.Write(_model, (int)from, cut);
                response.OutputStream.Flush();
                response.Abort();
                return;
            }
            response.OutputStream.Write(_model, (int)from, (int)(_model.Length - from));
            response.Close();
            return;
        }
        response.StatusCode = 404;
        response.Close();
    }

    static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose() => _listener.Close();
}
