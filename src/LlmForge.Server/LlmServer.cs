using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlmForge.Server;

/// <summary>
/// <c>llmforge serve</c>: one model behind the web page and the OpenAI- and Ollama-compatible APIs, on Kestrel.
/// Requests are logged one line each on <c>log</c>; Ctrl-C (or SIGTERM) stops accepting, cancels running
/// generations at their next token, and lets <see cref="WaitForShutdownAsync"/> return.
/// </summary>
public sealed class LlmServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly GenerationQueue _queue;
    readonly CancellationTokenSource _stopping;

    LlmServer(WebApplication app, GenerationQueue queue, CancellationTokenSource stopping, Uri url)
    {
        _app = app;
        _queue = queue;
        _stopping = stopping;
        Url = url;
    }

    /// <summary>Where the server listens, with the port it got (for <c>--port 0</c>).</summary>
    public Uri Url { get; }

    /// <exception cref="BadInputException">an option is out of range, or the port is taken.</exception>
    public static async Task<LlmServer> StartAsync(ServedModel model, ServerOptions options, TextWriter log)
    {
        var address = options.Address();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "LlmForge.Server",
            ContentRootPath = AppContext.BaseDirectory, // no settings files are read from wherever the user stands
        });
        // The request log below is the server's output; the framework's own logging would only repeat it.
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, options.Port);
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            kestrel.AddServerHeader = false;
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(10));
        var app = builder.Build();
        var queue = new GenerationQueue(options.MaxQueue, options.MaxBatch, model.Network);
        var stopping = new CancellationTokenSource();
        app.Lifetime.ApplicationStopping.Register(stopping.Cancel);
        var state = new ServerState(model, queue, stopping.Token);

        app.Use(RequestLog.Middleware(log));
        app.Use(ApiErrors.Handle);
        app.UseStatusCodePages(NoRoute);
        app.Use(ApiKeyCheck.Middleware(options.ApiKey));
        Page.Map(app);
        app.MapGet("/healthz", () => Results.Text("{\"status\":\"ok\"}", "application/json"));
        OpenAiApi.Map(app, state);
        OllamaApi.Map(app, state);

        try
        {
            await app.StartAsync();
        }
        catch (IOException e) when (BindFailure(e) is string why)
        {
            await app.DisposeAsync();
            queue.Dispose();
            throw new BadInputException($"--port {options.Port}: {address}:{options.Port} {why}; choose another port, or 0 for any free one");
        }
        string bound = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LlmServer(app, queue, stopping, new Uri(bound.Replace("[::]", "[::1]").Replace("0.0.0.0", "127.0.0.1")));
    }

    /// <summary>Why Kestrel could not bind, when the port is the reason (the socket error sits a few exceptions deep).</summary>
    static string? BindFailure(Exception e)
    {
        for (Exception? inner = e; inner != null; inner = inner.InnerException)
            switch (inner)
            {
                case Microsoft.AspNetCore.Connections.AddressInUseException:
                case SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }:
                    return "is already in use";
                case SocketException { SocketErrorCode: SocketError.AccessDenied }:
                    return "may not be used by this user";
            }
        return null;
    }

    /// <summary>404 and 405 from routing, written as API errors instead of empty bodies.</summary>
    static Task NoRoute(Microsoft.AspNetCore.Diagnostics.StatusCodeContext context)
    {
        var http = context.HttpContext;
        string message = http.Response.StatusCode == 405
            ? $"{http.Request.Method} is not allowed on {http.Request.Path}"
            : $"no such endpoint: {http.Request.Method} {http.Request.Path}";
        return ApiErrors.WriteAsync(http, new ApiException(http.Response.StatusCode, message, null, http.Response.StatusCode == 405 ? "method_not_allowed" : "not_found"));
    }

    /// <summary>Returns once the server is told to stop (Ctrl-C, SIGTERM, or <see cref="DisposeAsync"/>) and has stopped.</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _queue.Dispose();
        _stopping.Dispose();
    }
}
