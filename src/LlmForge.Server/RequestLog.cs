using System.Diagnostics;

namespace LlmForge.Server;

/// <summary>One line per request on the server's output: method, path, status, tokens generated, milliseconds, and why it failed.</summary>
public static class RequestLog
{
    /// <summary>Where a handler leaves the number of tokens it generated.</summary>
    public const string TokensKey = "llmforge.tokens";

    /// <summary>Where the error handler leaves the message a failed request got.</summary>
    public const string ErrorKey = "llmforge.error";

    public static Func<HttpContext, RequestDelegate, Task> Middleware(TextWriter log) => async (http, next) =>
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await next(http);
        }
        finally
        {
            string tokens = http.Items[TokensKey] is int n ? $" {n} tokens" : "";
            string error = http.Items[ErrorKey] is string message ? $" ({message})" : "";
            lock (log) log.WriteLine($"{http.Request.Method} {http.Request.Path} {http.Response.StatusCode}{tokens} {clock.ElapsedMilliseconds} ms{error}");
        }
    };
}
