using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmForge.Tests;

/// <summary>
/// A real HTTP server (Kestrel, on 127.0.0.1 and a free port) answering chat requests the way Ollama's
/// <c>POST /api/chat</c> and OpenAI's <c>POST /v1/chat/completions</c> do. Each request is recorded; the
/// reply to the n-th one (counting from 0) is what <see cref="Respond"/> says.
/// </summary>
sealed class JudgeServer : IAsyncDisposable
{
    /// <summary>A request as the server received it.</summary>
    public sealed record Received(string Path, string Body, string? Authorization)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;

        /// <summary>The text of the one user message.</summary>
        public string Prompt => Json.GetProperty("messages").EnumerateArray().Single().GetProperty("content").GetString()!;
    }

    readonly WebApplication _app;
    readonly List<Received> _requests = [];

    JudgeServer(WebApplication app, Func<int, Received, (int Status, string Body)> respond)
    {
        _app = app;
        Respond = respond;
    }

    public Func<int, Received, (int Status, string Body)> Respond { get; }

    public string Url { get; private set; } = "";

    public IReadOnlyList<Received> Requests
    {
        get { lock (_requests) return [.. _requests]; }
    }

    public static async Task<JudgeServer> StartAsync(Func<int, Received, (int Status, string Body)> respond)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new JudgeServer(app, respond);
        app.MapPost("/api/chat", server.Handle);
        app.MapPost("/v1/chat/completions", server.Handle);
        await app.StartAsync();
        server.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return server;
    }

    async Task Handle(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var received = new Received(context.Request.Path, await reader.ReadToEndAsync(), context.Request.Headers.Authorization.FirstOrDefault());
        int index;
        lock (_requests)
        {
            index = _requests.Count;
            _requests.Add(received);
        }
        var (status, body) = Respond(index, received);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(body);
    }

    /// <summary>A non-streamed reply of Ollama's /api/chat, with the fields Ollama sends.</summary>
    public static string OllamaReply(string content, string model = "llama3") => JsonSerializer.Serialize(new
    {
        model,
        created_at = "2026-11-29T10:00:00.000000Z",
        message = new { role = "assistant", content },
        done_reason = "stop",
        done = true,
        total_duration = 5191566416,
        load_duration = 2154458,
        prompt_eval_count = 26,
        prompt_eval_duration = 383809000,
        eval_count = 3,
        eval_duration = 4799921000,
    });

    /// <summary>A reply of OpenAI's /v1/chat/completions, with the fields OpenAI sends.</summary>
    public static string OpenAIReply(string? content, string model = "gpt-4o-mini") => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-123",
        @object = "chat.completion",
        created = 1677652288,
        model,
        system_fingerprint = "fp_44709d6fcb",
        choices = new[]
        {
            new { index = 0, message = new { role = "assistant", content, refusal = (string?)null }, logprobs = (object?)null, finish_reason = "stop" },
        },
        usage = new { prompt_tokens = 90, completion_tokens = 2, total_tokens = 92 },
    });

    /// <summary>Ollama's error body: {"error": "..."}.</summary>
    public static string OllamaError(string message) => JsonSerializer.Serialize(new { error = message });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
