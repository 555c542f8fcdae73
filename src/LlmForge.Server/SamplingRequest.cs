namespace LlmForge.Server;

/// <summary>
/// The sampling a request asks for, in OpenAI's fields (<c>max_tokens</c>, <c>temperature</c>, <c>top_p</c>,
/// <c>top_k</c>, <c>seed</c>, <c>stop</c>) or Ollama's <c>options</c> (<c>num_predict</c>, ...), checked against the model.
/// </summary>
/// <param name="MaxTokens">what the request asked for; null: <paramref name="DefaultMaxTokens"/>.</param>
/// <param name="DefaultMaxTokens">null: as many as the context leaves room for.</param>
public sealed record SamplingRequest(int? MaxTokens, int? DefaultMaxTokens, double Temperature, double? TopP, int? TopK, long Seed, string[] Stop)
{
    /// <summary>OpenAI's fields, with its defaults (temperature 1, no top-p or top-k) and <paramref name="defaultMaxTokens"/>.</summary>
    public static SamplingRequest FromOpenAi(RequestBody body, int? defaultMaxTokens)
    {
        if (body.Integer("n") is long n && n != 1) throw ApiException.BadParameter("n", $"only 1 choice per request is supported, got {n}");
        string maxName = body.Has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        return Read(body, maxName, defaultMaxTokens, 1.0, null, null);
    }

    /// <summary>Ollama's <c>options</c>, with its defaults (temperature 0.8, top-k 40, top-p 0.9); <c>num_predict</c> -1 or -2 fills the context.</summary>
    public static SamplingRequest FromOllama(RequestBody body)
    {
        var options = body.Object("options") ?? new RequestBody(new JsonObject(), "options.");
        return Read(options, "num_predict", null, 0.8, 0.9, 40, ollama: true);
    }

    static SamplingRequest Read(RequestBody body, string maxName, int? defaultMax, double defaultTemperature, double? defaultTopP, int? defaultTopK, bool ollama = false)
    {
        long? max = body.Integer(maxName);
        if (ollama && max is -1 or -2) max = null; // Ollama's "until the context is full"
        if (max is < 1) throw ApiException.BadParameter(body.Param(maxName), $"expected at least 1 token, got {max}");
        double temperature = body.Number("temperature") ?? defaultTemperature;
        if (!(temperature >= 0)) throw ApiException.BadParameter(body.Param("temperature"), $"expected 0 (greedy) or more, got {temperature}");
        double? topP = body.Number("top_p") ?? defaultTopP;
        if (topP is double p && !(p > 0 && p <= 1)) throw ApiException.BadParameter(body.Param("top_p"), $"expected a number in (0, 1], got {p}");
        long? topK = body.Integer("top_k") ?? defaultTopK;
        // 0 and -1 switch top-k off, as llama.cpp and vLLM read them.
        if (topK is < -1) throw ApiException.BadParameter(body.Param("top_k"), $"expected 1 or more (0 or -1: no top-k), got {topK}");
        long seed = body.Integer("seed") ?? Random.Shared.NextInt64();
        return new SamplingRequest(max is long m ? (int)Math.Min(m, int.MaxValue) : null, defaultMax, temperature, topP,
            topK is >= 1 ? (int)Math.Min(topK.Value, int.MaxValue) : null, seed, StopStrings(body));
    }

    /// <summary>OpenAI's <c>stop</c>: one string or up to four (more are accepted too).</summary>
    static string[] StopStrings(RequestBody body) => body["stop"] switch
    {
        null => [],
        JsonValue => [NonEmpty(body.String("stop")!, body)],
        JsonArray array => array.Select(item => item is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? NonEmpty(v.GetValue<string>(), body)
                : throw ApiException.BadParameter(body.Param("stop"), $"expected strings, got {RequestBody.Describe(item)}")).ToArray(),
        var other => throw ApiException.BadParameter(body.Param("stop"), $"expected a string or an array of strings, got {RequestBody.Describe(other)}"),
    };

    static string NonEmpty(string stop, RequestBody body) =>
        stop.Length > 0 ? stop : throw ApiException.BadParameter(body.Param("stop"), "a stop string is empty");

    /// <summary>
    /// The generation options for a prompt of <paramref name="promptTokens"/>: the prompt and the answer must fit
    /// in the context (413 for a prompt that leaves no room, 400 for a <c>max_tokens</c> that does not fit).
    /// </summary>
    public GenerationOptions For(ServedModel model, int promptTokens, string maxName = "max_tokens")
    {
        int context = model.ContextLength;
        if (promptTokens >= context)
            throw new ApiException(413, $"the prompt has {promptTokens:N0} tokens, which leaves no room in the model's context of {context:N0} tokens", "prompt", "context_length_exceeded");
        int room = context - promptTokens;
        if (MaxTokens is int max && max > room)
            throw new ApiException(400, $"{maxName} {max:N0}: with the prompt's {promptTokens:N0} tokens this exceeds the model's context of {context:N0} tokens; ask for at most {room:N0}", maxName, "context_length_exceeded");
        return new GenerationOptions
        {
            MaxNewTokens = MaxTokens ?? Math.Min(DefaultMaxTokens ?? room, room),
            Temperature = Temperature,
            TopP = TopP,
            TopK = TopK,
            Seed = Seed,
        };
    }
}
