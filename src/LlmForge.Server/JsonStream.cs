namespace LlmForge.Server;

/// <summary>
/// Streamed JSON as clients read it: OpenAI's server-sent events (<c>data: {...}</c> and a blank line, ending with
/// <c>data: [DONE]</c>) and Ollama's newline-delimited JSON. Each write is flushed, so text reaches the client as it is made.
/// </summary>
public static class JsonStream
{
    /// <summary>Text as it is (UTF-8), not as \u escapes, so that a reply reads as well in a terminal as in a client.</summary>
    public static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void StartEvents(HttpResponse response)
    {
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        // Proxies such as nginx would otherwise hold the events back until the end.
        response.Headers["X-Accel-Buffering"] = "no";
    }

    public static Task WriteEventAsync(HttpResponse response, JsonNode data) => WriteAsync(response, "data: " + data.ToJsonString(JsonStream.Options) + "\n\n");

    public static Task WriteDoneAsync(HttpResponse response) => WriteAsync(response, "data: [DONE]\n\n");

    public static void StartLines(HttpResponse response) => response.ContentType = "application/x-ndjson";

    public static Task WriteLineAsync(HttpResponse response, JsonNode data) => WriteAsync(response, data.ToJsonString(JsonStream.Options) + "\n");

    static async Task WriteAsync(HttpResponse response, string text)
    {
        await response.WriteAsync(text, response.HttpContext.RequestAborted);
        await response.Body.FlushAsync(response.HttpContext.RequestAborted);
    }
}
