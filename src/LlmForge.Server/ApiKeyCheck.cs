using System.Security.Cryptography;
using System.Text;

namespace LlmForge.Server;

/// <summary>
/// With an API key set, every <c>/v1/</c> and <c>/api/</c> request must carry <c>Authorization: Bearer KEY</c> (401
/// otherwise). The page and <c>/healthz</c> stay open: the page asks for the key and sends it.
/// </summary>
public static class ApiKeyCheck
{
    public static Func<HttpContext, RequestDelegate, Task> Middleware(string? apiKey) => async (http, next) =>
    {
        bool guarded = http.Request.Path.StartsWithSegments("/v1") || http.Request.Path.StartsWithSegments("/api");
        if (apiKey == null || !guarded || Matches(http.Request.Headers.Authorization.ToString(), apiKey))
        {
            await next(http);
            return;
        }
        string message = http.Request.Headers.Authorization.Count == 0
            ? "this server needs an API key: send the header Authorization: Bearer KEY"
            : "the API key is not this server's (Authorization: Bearer KEY)";
        await ApiErrors.WriteAsync(http, new ApiException(401, message, null, "invalid_api_key"));
    };

    static bool Matches(string header, string apiKey)
    {
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        // Compared in constant time, so the time taken says nothing about how much of a guess was right.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()), Encoding.UTF8.GetBytes(apiKey));
    }
}
