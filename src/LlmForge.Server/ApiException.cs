namespace LlmForge.Server;

/// <summary>
/// A request the server refuses: the HTTP status, a message for the client, and (OpenAI's error object) the
/// parameter at fault and a code. Thrown while reading a request, before any response is started.
/// </summary>
public sealed class ApiException(int status, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status => status;
    public string? Param => param;
    public string? Code => code;

    /// <summary>OpenAI's <c>type</c> for this status.</summary>
    public string Type => status switch
    {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    public static ApiException BadParameter(string param, string message) => new(400, $"{param}: {message}", param, "invalid_parameter");
}
