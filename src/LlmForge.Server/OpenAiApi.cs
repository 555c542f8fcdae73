namespace LlmForge.Server;

/// <summary>
/// OpenAI's endpoints: <c>GET /v1/models</c>, <c>POST /v1/completions</c>, <c>POST /v1/chat/completions</c>, and
/// <c>POST /v1/classify</c> for a classifier (LlmForge's own, in the same style).
/// </summary>
public static class OpenAiApi
{
    public static void Map(WebApplication app, ServerState state)
    {
        app.MapGet("/v1/models", () => Results.Text(Models(state.Model).ToJsonString(JsonStream.Options), "application/json"));
        app.MapGet("/v1/models/{name}", (string name) =>
        {
            state.Model.Require(name);
            return Results.Text(Models(state.Model)["data"]![0]!.ToJsonString(JsonStream.Options), "application/json");
        });
        app.MapPost("/v1/completions", (HttpContext http) => CompletionsAsync(http, state));
        app.MapPost("/v1/chat/completions", (HttpContext http) => ChatAsync(http, state));
        app.MapPost("/v1/classify", (HttpContext http) => ClassifyAsync(http, state));
    }

    /// <summary>The model list, with what the page needs to know besides OpenAI's fields: its kind, context, labels.</summary>
    public static JsonObject Models(ServedModel served)
    {
        var model = new JsonObject
        {
            ["id"] = served.Name,
            ["object"] = "model",
            ["created"] = served.Created.ToUnixTimeSeconds(),
            ["owned_by"] = "llmforge",
            ["kind"] = served.KindName,
            ["context_length"] = served.ContextLength,
        };
        if (served.Labels is { } labels) model["labels"] = new JsonArray(labels.Select(l => (JsonNode)l).ToArray());
        return new JsonObject { ["object"] = "list", ["data"] = new JsonArray(model) };
    }

    static async Task CompletionsAsync(HttpContext http, ServerState state)
    {
        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        var served = RequireGenerator(state, body.String("model"));
        int[] ids = body["prompt"] switch
        {
            JsonValue v when v.GetValueKind() == JsonValueKind.String => PromptIds.Encode(served, v.GetValue<string>()),
            JsonArray { Count: 1 } one when one[0] is JsonValue v && v.GetValueKind() == JsonValueKind.String => PromptIds.Encode(served, v.GetValue<string>()),
            JsonArray { Count: > 1 } many when many.All(p => p is JsonValue v && v.GetValueKind() == JsonValueKind.String) =>
                throw ApiException.BadParameter("prompt", $"one prompt per request is supported, got {many.Count}"),
            JsonArray array => PromptIds.FromIds(served, array),
            null => throw ApiException.BadParameter("prompt", "is missing"),
            var other => throw ApiException.BadParameter("prompt", $"expected a string or an array of token ids, got {RequestBody.Describe(other)}"),
        };
        var sampling = SamplingRequest.FromOpenAi(body, defaultMaxTokens: 16); // OpenAI's default for completions
        var job = new CompletionJob(ids, sampling.For(served, ids.Length), sampling.Stop, IsResponse: false);
        bool stream = body.Bool("stream") ?? false;
        var writer = new OpenAiWriter(http, stream, chat: false, IncludeUsage(body), served.Name, trimEnd: false);
        await CompletionWriter.RunAsync(state, http, job, writer);
    }

    static async Task ChatAsync(HttpContext http, ServerState state)
    {
        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        var served = RequireGenerator(state, body.String("model"));
        var messages = ChatPrompt.Read(body);
        int[] ids = PromptIds.Encode(served, ChatPrompt.Format(served, messages, ChatPrompt.EnableThinking(body)), "messages");
        var sampling = SamplingRequest.FromOpenAi(body, defaultMaxTokens: null);
        bool isResponse = ChatPrompt.IsAlpaca(served);
        var job = new CompletionJob(ids, sampling.For(served, ids.Length), sampling.Stop, isResponse);
        bool stream = body.Bool("stream") ?? false;
        var writer = new OpenAiWriter(http, stream, chat: true, IncludeUsage(body), served.Name, trimEnd: isResponse);
        await CompletionWriter.RunAsync(state, http, job, writer);
    }

    static bool IncludeUsage(RequestBody body) => body.Object("stream_options")?.Bool("include_usage") ?? false;

    /// <summary>The served model, if the request names it and it writes text.</summary>
    public static ServedModel RequireGenerator(ServerState state, string? requested)
    {
        var served = state.Model;
        served.Require(requested);
        if (served.Kind == ModelKind.Classifier)
            throw new ApiException(400, $"the model '{served.Name}' is a classifier ({string.Join(", ", served.Labels ?? [])}): it does not write text; use POST /v1/classify", "model", "model_not_generative");
        return served;
    }

    static async Task ClassifyAsync(HttpContext http, ServerState state)
    {
        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        var served = state.Model;
        served.Require(body.String("model"));
        if (served.Kind != ModelKind.Classifier)
            throw new ApiException(400, $"the model '{served.Name}' is a language model, not a classifier; classify with a model from llmforge finetune classify", "model", "model_not_classifier");
        var texts = ClassifyInputs(body);
        int tokens = texts.Sum(t => Math.Min(served.Tokenizer.Encode(t).Length, served.ContextLength));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, state.Stopping);
        var classes = await state.Queue.Run(_ => Classification.TextClassifier.Classify((IClassifierModel)served.Network, served.Tokenizer, texts), cancel.Token);
        var data = new JsonArray();
        for (int i = 0; i < classes.Count; i++)
        {
            var probabilities = new JsonObject();
            foreach (var (label, probability) in classes[i].Probabilities) probabilities[label] = probability;
            data.Add(new JsonObject { ["index"] = i, ["label"] = classes[i].Label, ["probabilities"] = probabilities });
        }
        http.Items[RequestLog.TokensKey] = tokens;
        var answer = new JsonObject
        {
            ["object"] = "list",
            ["model"] = served.Name,
            ["data"] = data,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        };
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(answer.ToJsonString(JsonStream.Options));
    }

    /// <summary><c>input</c>: one text or a non-empty array of texts, none of them empty.</summary>
    static List<string> ClassifyInputs(RequestBody body)
    {
        var texts = body["input"] switch
        {
            JsonValue => [body.String("input")!],
            JsonArray array => array.Select((item, i) => item is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? v.GetValue<string>()
                : throw ApiException.BadParameter($"input[{i}]", $"expected a string, got {RequestBody.Describe(item)}")).ToList(),
            null => throw ApiException.BadParameter("input", "is missing: give a text or an array of texts"),
            var other => throw ApiException.BadParameter("input", $"expected a string or an array of strings, got {RequestBody.Describe(other)}"),
        };
        if (texts.Count == 0) throw ApiException.BadParameter("input", "is empty: give at least one text");
        int empty = texts.FindIndex(t => t.Length == 0);
        if (empty >= 0) throw ApiException.BadParameter(texts.Count == 1 ? "input" : $"input[{empty}]", "is an empty text");
        return texts;
    }
}
