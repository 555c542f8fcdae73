using System.Net;
using System.Text;

namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge serve</c> over the tiny fixture model, through its OpenAI- and Ollama-compatible APIs: the same
/// text as the library's generation, streamed and whole, and every bad request answered with the right status.
/// </summary>
public sealed class ServeApiTests(ServeApiTests.FixtureServer fixture) : IClassFixture<ServeApiTests.FixtureServer>
{
    /// <summary>One server for the class: the fixture model (context 64).</summary>
    public sealed class FixtureServer : IDisposable
    {
        internal ServerProcess Server { get; } = ServerProcess.Start("--model", FixtureModel.Dir);
        public void Dispose() => Server.Dispose();
    }

    const string Prompt = "Every effort moves you";
    ServerProcess Server => fixture.Server;

    /// <summary>The fixture's greedy ids after the prompt (its greedy_20 holds the prompt's too), as text.</summary>
    static string GreedyText(int count = 20)
    {
        using var loaded = ModelLoader.Load(FixtureModel.Dir);
        return loaded.Tokenizer.Decode(FixtureModel.Ints("greedy_20").Skip(FixtureModel.Ints("prompt_ids").Length).Take(count));
    }

    internal static async Task<(HttpStatusCode Status, JsonNode? Body, string Text)> PostAsync(HttpClient http, string path, string body)
    {
        using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        try { json = JsonNode.Parse(text); } catch (JsonException) { }
        return (response.StatusCode, json, text);
    }

    /// <summary>The <c>data:</c> payloads of a server-sent event stream, in order.</summary>
    internal static List<string> Events(string stream) =>
        stream.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Trim()).Where(e => e.Length > 0)
            .Select(e => { Assert.StartsWith("data: ", e); return e["data: ".Length..]; }).ToList();

    [Fact]
    public async Task AGreedyCompletionIsTheFixturesGreedyContinuation()
    {
        var (status, body, text) = await PostAsync(Server.Http, "/v1/completions", $$"""{"model": "tiny-gpt2", "prompt": "{{Prompt}}", "max_tokens": 20, "temperature": 0}""");
        Assert.True(status == HttpStatusCode.OK, text);
        Assert.Equal("text_completion", (string?)body!["object"]);
        Assert.Equal(GreedyText(), (string?)body["choices"]![0]!["text"]);
        Assert.Equal("length", (string?)body["choices"]![0]!["finish_reason"]);
        Assert.Equal(FixtureModel.Ints("prompt_ids").Length, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(20, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(20 + FixtureModel.Ints("prompt_ids").Length, (int)body["usage"]!["total_tokens"]!);
        // Without max_tokens a completion gets OpenAI's default of 16.
        var (_, short16, _) = await PostAsync(Server.Http, "/v1/completions", $$"""{"prompt": "{{Prompt}}", "temperature": 0}""");
        Assert.Equal(GreedyText(16), (string?)short16!["choices"]![0]!["text"]);
        // The same prompt as token ids.
        string ids = string.Join(",", FixtureModel.Ints("prompt_ids"));
        var (_, byIds, _) = await PostAsync(Server.Http, "/v1/completions", $$"""{"prompt": [{{ids}}], "max_tokens": 20, "temperature": 0}""");
        Assert.Equal(GreedyText(), (string?)byIds!["choices"]![0]!["text"]);
    }

    [Fact]
    public async Task StreamedPiecesJoinToTheWholeTextThenUsageThenDone()
    {
        using var response = await Server.Http.PostAsync("/v1/completions", new StringContent(
            $$"""{"prompt": "{{Prompt}}", "max_tokens": 20, "temperature": 0, "stream": true, "stream_options": {"include_usage": true} }""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = Events(await response.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(20, (int)usage["usage"]!["completion_tokens"]!);
        var pieces = chunks[..^1];
        Assert.True(pieces.Count >= 10, $"{pieces.Count} chunks for 20 tokens");
        Assert.Equal(GreedyText(), string.Concat(pieces.Select(c => (string?)c["choices"]![0]!["text"])));
        Assert.All(pieces[..^1], c => Assert.Null(c["choices"]![0]!["finish_reason"]));
        Assert.Equal("length", (string?)pieces[^1]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task ChatWithABaseModelContinuesTheMessageAndStreamsDeltas()
    {
        var (status, body, text) = await PostAsync(Server.Http, "/v1/chat/completions",
            $$"""{"messages": [{"role": "user", "content": "{{Prompt}}"}], "max_tokens": 20, "temperature": 0}""");
        Assert.True(status == HttpStatusCode.OK, text);
        Assert.Equal("chat.completion", (string?)body!["object"]);
        Assert.Equal("assistant", (string?)body["choices"]![0]!["message"]!["role"]);
        Assert.Equal(GreedyText(), (string?)body["choices"]![0]!["message"]!["content"]);

        var (_, _, streamed) = await PostAsync(Server.Http, "/v1/chat/completions",
            $$"""{"messages": [{"role": "user", "content": [{"type": "text", "text": "{{Prompt}}"}]}], "max_tokens": 20, "temperature": 0, "stream": true}""");
        var chunks = Events(streamed)[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        Assert.Equal(GreedyText(), string.Concat(chunks.Select(c => (string?)c["choices"]![0]!["delta"]!["content"])));
        Assert.Equal("length", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task AStopStringEndsTheTextBeforeIt()
    {
        string greedy = GreedyText();
        // A stop string from the middle of the greedy text: what comes before it is the answer.
        string stop = greedy.Substring(greedy.Length / 2, 4);
        string expected = greedy[..greedy.IndexOf(stop, StringComparison.Ordinal)];
        string request = $$"""{"prompt": "{{Prompt}}", "max_tokens": 20, "temperature": 0, "stop": ["zzzz-never", {{JsonSerializer.Serialize(stop)}}]}""";
        var (_, body, _) = await PostAsync(Server.Http, "/v1/completions", request);
        Assert.Equal(expected, (string?)body!["choices"]![0]!["text"]);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        Assert.True((int)body["usage"]!["completion_tokens"]! < 20);
        var (_, _, streamed) = await PostAsync(Server.Http, "/v1/completions", request.Replace("\"temperature\"", "\"stream\": true, \"temperature\""));
        var chunks = Events(streamed)[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.Equal(expected, string.Concat(chunks.Select(c => (string?)c["choices"]![0]!["text"])));
        Assert.Equal("stop", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task OllamaGenerateAndChatStreamLinesByDefaultAndAnswerWholeWhenAsked()
    {
        const string options = """ "options": {"temperature": 0, "num_predict": 20} """;
        var (status, _, lines) = await PostAsync(Server.Http, "/api/generate", $$"""{"model": "tiny-gpt2:latest", "prompt": "{{Prompt}}", {{options}}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var objects = lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.True(objects.Count > 10);
        Assert.All(objects[..^1], o => Assert.False((bool)o["done"]!));
        Assert.True((bool)objects[^1]["done"]!);
        Assert.Equal(20, (int)objects[^1]["eval_count"]!);
        Assert.Equal("length", (string?)objects[^1]["done_reason"]);
        Assert.Equal(GreedyText(), string.Concat(objects.Select(o => (string?)o["response"])));

        var (_, whole, _) = await PostAsync(Server.Http, "/api/generate", $$"""{"model": "tiny-gpt2", "prompt": "{{Prompt}}", "stream": false, {{options}}}""");
        Assert.Equal(GreedyText(), (string?)whole!["response"]);
        Assert.True((bool)whole["done"]!);

        var (_, chat, _) = await PostAsync(Server.Http, "/api/chat", $$"""{"model": "tiny-gpt2", "messages": [{"role": "user", "content": "{{Prompt}}"}], "stream": false, {{options}}}""");
        Assert.Equal(GreedyText(), (string?)chat!["message"]!["content"]);
        Assert.Equal("assistant", (string?)chat["message"]!["role"]);

        var tags = JsonNode.Parse(await Server.Http.GetStringAsync("/api/tags"))!;
        Assert.Equal("tiny-gpt2:latest", (string?)tags["models"]![0]!["name"]);
    }

    [Fact]
    public async Task ThePageTheHealthCheckAndTheModelListAreServed()
    {
        Assert.Equal("ok", (string?)JsonNode.Parse(await Server.Http.GetStringAsync("/healthz"))!["status"]);
        using var page = await Server.Http.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        using var script = await Server.Http.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        var models = JsonNode.Parse(await Server.Http.GetStringAsync("/v1/models"))!;
        var model = models["data"]![0]!;
        Assert.Equal("tiny-gpt2", (string?)model["id"]);
        Assert.Equal("base", (string?)model["kind"]);
        Assert.Equal(64, (int)model["context_length"]!);
    }

    public static TheoryData<string, string, int, string> BadRequests => new()
    {
        { "/v1/completions", """{"prompt": "a" """, 400, "not valid JSON" },
        { "/v1/completions", """["a"]""", 400, "must be a JSON object, got an array" },
        { "/v1/completions", """{"prompt": 5}""", 400, "prompt: expected a string or an array of token ids, got the number 5" },
        { "/v1/completions", """{"prompt": "a", "max_tokens": -1}""", 400, "max_tokens: expected at least 1 token, got -1" },
        { "/v1/completions", """{"prompt": "a", "max_tokens": 0}""", 400, "max_tokens: expected at least 1" },
        { "/v1/completions", """{"prompt": "a", "max_tokens": 1e12}""", 400, "exceeds the model's context of 64 tokens" },
        { "/v1/completions", """{"prompt": "a", "max_tokens": "ten"}""", 400, "max_tokens: expected a number, got the string \"ten\"" },
        { "/v1/completions", """{"prompt": "a", "max_tokens": 2.5}""", 400, "max_tokens: expected a whole number" },
        { "/v1/completions", """{"prompt": "a", "temperature": -0.5}""", 400, "temperature: expected 0 (greedy) or more, got -0.5" },
        { "/v1/completions", """{"prompt": "a", "temperature": "hot"}""", 400, "temperature: expected a number" },
        { "/v1/completions", """{"prompt": "a", "top_p": 1.5}""", 400, "top_p: expected a number in (0, 1]" },
        { "/v1/completions", """{"prompt": "a", "stop": [1]}""", 400, "stop: expected strings, got the number 1" },
        { "/v1/completions", """{"prompt": "a", "stream": "yes"}""", 400, "stream: expected true or false" },
        { "/v1/completions", """{"prompt": "a", "n": 2}""", 400, "n: only 1 choice per request" },
        { "/v1/completions", """{"prompt": "a", "model": "gpt-4"}""", 404, "the model 'gpt-4' does not exist" },
        { "/v1/completions", """{"prompt": "<|endoftext|><|endoftext|>"}""", 400, "has only special tokens" },
        { "/v1/completions", """{"prompt": ""}""", 400, "the prompt is empty" },
        { "/v1/completions", """{"max_tokens": 3}""", 400, "prompt: is missing" },
        { "/v1/completions", """{"prompt": [1, 99999]}""", 400, "token id 99999 at [1] is outside the model's vocabulary" },
        { "/v1/completions", "{\"prompt\": \"" + string.Concat(Enumerable.Repeat("word ", 80)) + "\"}", 413, "leaves no room in the model's context of 64 tokens" },
        { "/v1/chat/completions", """{"messages": []}""", 400, "messages: is empty" },
        { "/v1/chat/completions", """{"max_tokens": 3}""", 400, "messages: expected an array" },
        { "/v1/chat/completions", """{"messages": [{"role": "robot", "content": "hi"}]}""", 400, "messages[0].role: expected system, user or assistant" },
        { "/v1/chat/completions", """{"messages": [{"role": "user", "content": 7}]}""", 400, "messages[0].content: expected a string" },
        { "/v1/classify", """{"input": "hello"}""", 400, "is a language model, not a classifier" },
        { "/v1/nowhere", "{}", 404, "no such endpoint: POST /v1/nowhere" },
        { "/api/generate", """{"model": "tiny-gpt2", "prompt": "a", "options": {"num_predict": "x"}}""", 400, "options.num_predict: expected a number" },
        { "/api/chat", """{"model": "llama3", "messages": [{"role": "user", "content": "a"}]}""", 404, "the model 'llama3' does not exist" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task ABadRequestGetsItsStatusAndAClearMessageAndTheNextIsServed(string path, string body, int status, string message)
    {
        var (got, json, text) = await PostAsync(Server.Http, path, body);
        Assert.True((int)got == status, $"{(int)got}: {text}");
        // OpenAI's error object, or Ollama's string under /api/.
        string? said = path.StartsWith("/api/") ? (string?)json!["error"] : (string?)json!["error"]!["message"];
        Assert.Contains(message, said);
        if (!path.StartsWith("/api/")) Assert.Equal(status == 404 ? "not_found_error" : "invalid_request_error", (string?)json["error"]!["type"]);
        var (next, _, nextText) = await PostAsync(Server.Http, "/v1/completions", """{"prompt": "Every effort", "max_tokens": 2}""");
        Assert.True(next == HttpStatusCode.OK, nextText);
    }

    [Fact]
    public async Task UnknownFieldsAreIgnoredAsOpenAIIgnoresThem()
    {
        var (status, body, text) = await PostAsync(Server.Http, "/v1/completions",
            $$"""{"prompt": "{{Prompt}}", "max_tokens": 20, "temperature": 0, "logit_bias": {"50256": -100}, "user": "me", "frobnicate": [1, {"x": null}]}""");
        Assert.True(status == HttpStatusCode.OK, text);
        Assert.Equal(GreedyText(), (string?)body!["choices"]![0]!["text"]);
    }

    [Fact]
    public async Task EachRequestIsLoggedInOneLineWithItsStatusTokensAndTime()
    {
        await PostAsync(Server.Http, "/v1/completions", """{"prompt": "logged request", "max_tokens": 7, "temperature": 0}""");
        string line = Server.WaitForLog(l => l.StartsWith("POST /v1/completions 200 7 tokens "));
        Assert.Matches(@"^POST /v1/completions 200 7 tokens \d+ ms$", line);
        await PostAsync(Server.Http, "/v1/completions", """{"prompt": "a", "temperature": -3}""");
        Assert.Matches(@"^POST /v1/completions 400 \d+ ms \(temperature: expected 0 \(greedy\) or more, got -3\)$",
            Server.WaitForLog(l => l.Contains("got -3")));
    }

    [Fact]
    public async Task ConcurrentRequestsGetTheSameTextsAsOneAtATime()
    {
        string[] prompts = Enumerable.Range(0, 8).Select(i => $"Request number {i} says").ToArray();
        async Task<string> Complete(string prompt) =>
            (string)(await PostAsync(Server.Http, "/v1/completions", $$"""{"prompt": "{{prompt}}", "max_tokens": 12, "temperature": 0}""")).Body!["choices"]![0]!["text"]!;
        var alone = new List<string>();
        foreach (var prompt in prompts) alone.Add(await Complete(prompt));
        var together = await Task.WhenAll(prompts.Select(Complete));
        Assert.Equal(alone, together);
    }
}
