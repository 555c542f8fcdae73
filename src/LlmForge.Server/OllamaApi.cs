namespace LlmForge.Server;

/// <summary>
/// Ollama's endpoints, so that Ollama clients (and <c>llmforge judge --api ollama</c>) work against LlmForge models:
/// <c>GET /api/tags</c>, <c>GET /api/version</c>, <c>POST /api/show</c>, <c>POST /api/generate</c>, <c>POST /api/chat</c>.
/// Streaming is the default, as in Ollama.
/// </summary>
public static class OllamaApi
{
    public static void Map(WebApplication app, ServerState state)
    {
        app.MapGet("/api/tags", () => Results.Text(Tags(state.Model).ToJsonString(JsonStream.Options), "application/json"));
        app.MapGet("/api/version", () => Results.Text(new JsonObject { ["version"] = Version }.ToJsonString(JsonStream.Options), "application/json"));
        app.MapPost("/api/show", async (HttpContext http) =>
        {
            var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
            state.Model.Require(body.String("model") ?? body.String("name"));
            return Results.Text(new JsonObject { ["details"] = Details(state.Model), ["model_info"] = new JsonObject
            {
                ["general.architecture"] = state.Model.Network.Architecture,
                [state.Model.Network.Architecture + ".context_length"] = state.Model.ContextLength,
            } }.ToJsonString(JsonStream.Options), "application/json");
        });
        app.MapPost("/api/generate", (HttpContext http) => GenerateAsync(http, state));
        app.MapPost("/api/chat", (HttpContext http) => ChatAsync(http, state));
    }

    static string Version => typeof(OllamaApi).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    static JsonObject Tags(ServedModel served) => new()
    {
        ["models"] = new JsonArray(new JsonObject
        {
            ["name"] = served.Name + ":latest",
            ["model"] = served.Name + ":latest",
            ["modified_at"] = served.Created.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            ["size"] = served.Parameters * 4L,
            ["digest"] = "",
            ["details"] = Details(served),
        }),
    };

    static JsonObject Details(ServedModel served) => new()
    {
        ["format"] = "llmforge",
        ["family"] = served.Network.Architecture,
        ["families"] = new JsonArray(served.Network.Architecture),
        ["parameter_size"] = $"{served.Parameters / 1e6:0.#}M",
        ["quantization_level"] = served.Network.Module.parameters().First().dtype switch
        {
            ScalarType.BFloat16 => "BF16",
            ScalarType.Float16 => "F16",
            _ => "F32",
        },
        ["kind"] = served.KindName,
    };

    static async Task GenerateAsync(HttpContext http, ServerState state)
    {
        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        string? model = body.String("model");
        var served = OpenAiApi.RequireGenerator(state, model);
        string prompt = body.String("prompt") ?? throw ApiException.BadParameter("prompt", "is missing");
        // Ollama's system prompt goes before the prompt, as a base model's text or an instruction model's system message.
        string? system = body.String("system");
        bool raw = body.Bool("raw") ?? false;
        bool chat = served.Kind == ModelKind.Instruction && !raw;
        bool isResponse = chat && ChatPrompt.IsAlpaca(served);
        string text = chat
            ? ChatPrompt.Format(served, [.. system is null ? Array.Empty<ChatMessage>() : [new ChatMessage("system", system)], new ChatMessage("user", prompt)], ChatPrompt.EnableThinking(body))
            : system is null ? prompt : system + "\n\n" + prompt;
        int[] ids = PromptIds.Encode(served, text);
        await RunAsync(http, state, body, ids, isResponse, chat: false, model ?? served.Name);
    }

    static async Task ChatAsync(HttpContext http, ServerState state)
    {
        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        string? model = body.String("model");
        var served = OpenAiApi.RequireGenerator(state, model);
        int[] ids = PromptIds.Encode(served, ChatPrompt.Format(served, ChatPrompt.Read(body), ChatPrompt.EnableThinking(body)), "messages");
        await RunAsync(http, state, body, ids, ChatPrompt.IsAlpaca(served), chat: true, model ?? served.Name);
    }

    static Task RunAsync(HttpContext http, ServerState state, RequestBody body, int[] ids, bool isResponse, bool chat, string model)
    {
        var sampling = SamplingRequest.FromOllama(body);
        var job = new CompletionJob(ids, sampling.For(state.Model, ids.Length, "options.num_predict"), sampling.Stop, isResponse);
        var writer = new OllamaWriter(http, body.Bool("stream") ?? true, chat, model, trimEnd: isResponse);
        return CompletionWriter.RunAsync(state, http, job, writer);
    }
}
