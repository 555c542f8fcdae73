namespace LlmForge.Server;

/// <summary>
/// Every failure of a request as a JSON error with the right status, in the protocol of its path: OpenAI's
/// <c>{"error": {"message", "type", "param", "code"}}</c>, or Ollama's <c>{"error": "message"}</c> under <c>/api/</c>.
/// The server goes on serving after each.
/// </summary>
public static class ApiErrors
{
    /// <summary>What a failure means to the client.</summary>
    public static ApiException ToApi(Exception e) => e switch
    {
        ApiException api => api,
        BadInputException bad => new ApiException(400, bad.Message),
        NonFiniteLogitsException nan => new ApiException(500, nan.Message, null, "non_finite_logits"),
        _ => new ApiException(500, "internal error: " + e.Message.ReplaceLineEndings(" "), null, "internal_error"),
    };

    public static bool IsOllamaPath(HttpContext http) => http.Request.Path.StartsWithSegments("/api");

    /// <summary>The error body for <paramref name="http"/>'s protocol.</summary>
    public static JsonObject Body(HttpContext http, ApiException error) => IsOllamaPath(http)
        ? new JsonObject { ["error"] = error.Message }
        : new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = error.Message,
                ["type"] = error.Type,
                ["param"] = error.Param,
                ["code"] = error.Code,
            },
        };

    public static async Task WriteAsync(HttpContext http, ApiException error)
    {
        http.Response.StatusCode = error.Status;
        if (error.Status == 401) http.Response.Headers.WWWAuthenticate = "Bearer";
        if (error.Status == 429) http.Response.Headers.RetryAfter = "1";
        http.Response.ContentType = "application/json; charset=utf-8";
        http.Items[RequestLog.ErrorKey] = error.Message;
        await http.Response.WriteAsync(Body(http, error).ToJsonString(JsonStream.Options));
    }

    /// <summary>
    /// The middleware: a failure before the response started becomes its error response; a client that left is
    /// only logged; a failure nobody foresaw is also written to the server's log.
    /// </summary>
    public static async Task Handle(HttpContext http, RequestDelegate next)
    {
        try
        {
            await next(http);
        }
        catch (Exception) when (http.RequestAborted.IsCancellationRequested)
        {
            http.Items[RequestLog.ErrorKey] = "client disconnected";
        }
        catch (OperationCanceledException) when (!http.Response.HasStarted)
        {
            await WriteAsync(http, new ApiException(503, "the server is shutting down", null, "shutting_down"));
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            var error = ToApi(e);
            // Nobody foresaw it: the operator gets the whole story, the client one line.
            if (error.Code == "internal_error")
                Console.Error.WriteLine($"llmforge serve: unexpected failure in {http.Request.Method} {http.Request.Path}: {e}");
            await WriteAsync(http, error);
        }
    }
}
