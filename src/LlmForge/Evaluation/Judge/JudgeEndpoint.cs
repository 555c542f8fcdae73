using LlmForge.Interop;

namespace LlmForge.Evaluation.Judge;

/// <summary>The URL a judge's chat requests go to, and the protocol they speak.</summary>
public sealed record JudgeEndpoint(Uri ChatUrl, JudgeApi Api)
{
    const string OllamaPath = "/api/chat";
    const string OpenAIPath = "/v1/chat/completions";

    /// <summary>
    /// The chat URL for a server's base URL as users write it: <c>http://localhost:11434</c> for Ollama; for
    /// OpenAI-compatible servers either the host (<c>http://localhost:8000</c>) or the base URL their clients use,
    /// which ends in <c>/v1</c>. A URL that already names the chat path is used as it is.
    /// </summary>
    public static JudgeEndpoint Resolve(string url, JudgeApi api)
    {
        var uri = HttpUrl.Parse(url, "--endpoint");
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
            throw new BadInputException($"--endpoint '{url}': expected the server's base URL, without ? or #");
        string path = uri.AbsolutePath.TrimEnd('/');
        string chatPath = api switch
        {
            JudgeApi.Ollama => path.EndsWith(OllamaPath, StringComparison.Ordinal) ? path : path + OllamaPath,
            _ when path.EndsWith("/chat/completions", StringComparison.Ordinal) => path,
            // The OpenAI clients' base URL already holds the version: https://api.openai.com/v1.
            _ when path.EndsWith("/v1", StringComparison.Ordinal) => path + "/chat/completions",
            _ => path + OpenAIPath,
        };
        return new JudgeEndpoint(new UriBuilder(uri) { Path = chatPath }.Uri, api);
    }

    /// <summary>How users call the protocol in messages: "an Ollama /api/chat" or "an OpenAI /v1/chat/completions".</summary>
    public string ProtocolName => Api == JudgeApi.Ollama ? "an Ollama /api/chat" : "an OpenAI /v1/chat/completions";
}
