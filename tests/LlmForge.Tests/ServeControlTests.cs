using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge serve</c> as an operator runs it: the API key, the bounded queue, clients that leave, Ctrl-C,
/// bad options, and the models from the fine-tuning commands (instruction answers, classes, the judge).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ServeControlTests() : ScratchDirectory("llmforge-serve")
{
    static Task<(HttpStatusCode Status, JsonNode? Body, string Text)> PostAsync(HttpClient http, string path, string body) =>
        ServeApiTests.PostAsync(http, path, body);

    static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task WithAnApiKeyEveryApiRequestNeedsItButThePageDoesNot()
    {
        using var server = ServerProcess.Start("--model", FixtureModel.Dir, "--api-key", "s3cret-key");
        using var none = await server.Http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        var error = JsonNode.Parse(await none.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("invalid_api_key", (string?)error["code"]);
        Assert.Contains("Authorization: Bearer", (string?)error["message"]);

        var wrong = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = Json("""{"prompt": "a"}""") };
        wrong.Headers.Authorization = new("Bearer", "guess");
        using (var response = await server.Http.SendAsync(wrong)) Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using (var ollama = await server.Http.GetAsync("/api/tags"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, ollama.StatusCode);
            Assert.Contains("API key", (string?)JsonNode.Parse(await ollama.Content.ReadAsStringAsync())!["error"]);
        }
        // The page and the health check stay open: the page asks for the key.
        using (var page = await server.Http.GetAsync("/")) Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using (var health = await server.Http.GetAsync("/healthz")) Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        server.Http.DefaultRequestHeaders.Authorization = new("Bearer", "s3cret-key");
        var (status, _, text) = await PostAsync(server.Http, "/v1/completions", """{"prompt": "Every effort", "max_tokens": 3}""");
        Assert.True(status == HttpStatusCode.OK, text);
        Assert.Contains("API key required", server.Output);
    }

    [Fact]
    public async Task TheKeyCanComeFromTheEnvironment()
    {
        using var server = ServerProcess.Start(["--model", FixtureModel.Dir], new Dictionary<string, string> { ["LLMFORGE_API_KEY"] = "from-env" });
        using (var none = await server.Http.GetAsync("/v1/models")) Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        server.Http.DefaultRequestHeaders.Authorization = new("Bearer", "from-env");
        using var with = await server.Http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
    }

    /// <summary>A long greedy generation, streamed, with its first chunk already read.</summary>
    static async Task<(HttpResponseMessage Response, StreamReader Reader)> StartLongStreamAsync(HttpClient http)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = Json("""{"prompt": "Once upon a time", "max_tokens": 1000, "temperature": 0, "stream": true}"""),
        };
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: {", await reader.ReadLineAsync());
        return (response, reader);
    }

    [Fact]
    public async Task AFullQueueAnswers429AndTheServerGoesOn()
    {
        using var server = ServerProcess.Start("--model", ServedModels.LongContext, "--max-queue", "0", "--max-batch", "1");
        var (running, reader) = await StartLongStreamAsync(server.Http);
        using (running)
        {
            using var second = await server.Http.PostAsync("/v1/completions", Json("""{"prompt": "Hello", "max_tokens": 2}"""));
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
            Assert.Equal("1", second.Headers.GetValues("Retry-After").Single());
            var error = JsonNode.Parse(await second.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("rate_limit_error", (string?)error["type"]);
            Assert.Contains("--max-queue", (string?)error["message"]);
        }
        reader.Dispose();
        server.WaitForLog(l => l.Contains("client disconnected"));
        var (status, _, text) = await PostAsync(server.Http, "/v1/completions", """{"prompt": "Hello", "max_tokens": 2}""");
        Assert.True(status == HttpStatusCode.OK, text);
    }

    [Fact]
    public async Task CompletionsArrivingTogetherAreDecodedTogetherUpToMaxBatch()
    {
        // No room to wait: only requests that join the running batch are taken.
        using var server = ServerProcess.Start("--model", ServedModels.LongContext, "--max-queue", "0", "--max-batch", "2");
        Assert.Contains("up to 2 completions decoded together", server.Output);
        var (first, firstReader) = await StartLongStreamAsync(server.Http);
        var (second, secondReader) = await StartLongStreamAsync(server.Http);
        using (first)
        using (second)
        {
            // Both stream at once: each gets more text while the other is still running.
            static async Task<string?> NextEvent(StreamReader reader)
            {
                string? line;
                while ((line = await reader.ReadLineAsync()) == "") { }
                return line;
            }
            for (int i = 0; i < 5; i++)
            {
                Assert.StartsWith("data: {", await NextEvent(firstReader));
                Assert.StartsWith("data: {", await NextEvent(secondReader));
            }
            using var third = await server.Http.PostAsync("/v1/completions", Json("""{"prompt": "Hello", "max_tokens": 2}"""));
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.Contains("--max-batch", (string?)JsonNode.Parse(await third.Content.ReadAsStringAsync())!["error"]!["message"]);
        }
        firstReader.Dispose();
        secondReader.Dispose();
        // Both clients left; once the batch has let both go, a request is taken again.
        server.WaitForLog(_ => server.Output.Split('\n').Count(l => l.Contains("client disconnected")) == 2);
        var (status, _, text) = await PostAsync(server.Http, "/v1/completions", """{"prompt": "Hello", "max_tokens": 2}""");
        Assert.True(status == HttpStatusCode.OK, text);
    }

    [Fact]
    public async Task ConcurrentCompletionsGetTheTextsTheyGetOneAtATime()
    {
        using var server = ServerProcess.Start("--model", ServedModels.LongContext);
        string[] bodies =
        [
            """{"prompt": "Every effort moves you", "max_tokens": 40, "temperature": 0}""",
            """{"prompt": "I", "max_tokens": 25, "temperature": 0}""",
            """{"prompt": "It had always been a surprise to me, the way he", "max_tokens": 33, "temperature": 0}""",
            """{"prompt": "The verdict", "max_tokens": 30, "temperature": 0.9, "seed": 5}""",
            """{"prompt": "Gisburn", "max_tokens": 20, "temperature": 0, "stop": [" the"]}""",
        ];
        async Task<string> Text(string body)
        {
            var (status, json, text) = await PostAsync(server.Http, "/v1/completions", body);
            Assert.True(status == HttpStatusCode.OK, text);
            return (string)json!["choices"]![0]!["text"]! + "|" + (string?)json["choices"]![0]!["finish_reason"];
        }
        var alone = new List<string>();
        foreach (string body in bodies) alone.Add(await Text(body));
        var together = await Task.WhenAll(bodies.Select(Text));
        Assert.Equal(alone, together);
        Assert.Contains(alone, t => t.EndsWith("|length"));
    }

    [Fact]
    public async Task AClientThatLeavesStopsItsGeneration()
    {
        using var server = ServerProcess.Start("--model", ServedModels.LongContext);
        var (response, reader) = await StartLongStreamAsync(server.Http);
        await reader.ReadLineAsync();
        reader.Dispose();
        response.Dispose();
        string line = server.WaitForLog(l => l.StartsWith("POST /v1/completions"));
        var match = System.Text.RegularExpressions.Regex.Match(line, @"^POST /v1/completions 200 (\d+) tokens \d+ ms \(client disconnected\)$");
        Assert.True(match.Success, line);
        Assert.InRange(int.Parse(match.Groups[1].Value), 1, 999);
        var (status, _, text) = await PostAsync(server.Http, "/v1/completions", """{"prompt": "Hello", "max_tokens": 2}""");
        Assert.True(status == HttpStatusCode.OK, text);
    }

    [Fact]
    public async Task CtrlCEndsRunningWorkAndExitsZero()
    {
        var server = ServerProcess.Start("--model", ServedModels.LongContext);
        using (server)
        {
            var (response, reader) = await StartLongStreamAsync(server.Http);
            using (response)
            {
                int exitCode = server.Interrupt();
                Assert.Equal(0, exitCode);
                // The stream ended (cut short, with a finish reason), instead of hanging.
                string rest = await reader.ReadToEndAsync();
                Assert.Contains("\"finish_reason\":\"cancelled\"", rest);
                Assert.EndsWith("data: [DONE]", rest.TrimEnd());
            }
            Assert.Contains("llmforge serve: stopped", server.Output);
            Assert.Equal("", server.Errors);
        }
    }

    [Fact]
    public async Task AModelWithNanWeightsGets500WithAClearMessageAndTheServerGoesOn()
    {
        using var server = ServerProcess.Start("--model", ModelCliTests.NanCheckpoint());
        const string expected = "the model's logits are not finite numbers (NaN or infinity)";
        foreach (string stream in new[] { "false", "true" })
        {
            var (status, body, text) = await PostAsync(server.Http, "/v1/completions", $$"""{"prompt": "Every effort", "max_tokens": 5, "stream": {{stream}}}""");
            Assert.True(status == HttpStatusCode.InternalServerError, text);
            Assert.Contains(expected, (string?)body!["error"]!["message"]);
        }
        var (ollama, error, _) = await PostAsync(server.Http, "/api/generate", """{"model": "model", "prompt": "Every effort"}""");
        Assert.Equal(HttpStatusCode.InternalServerError, ollama);
        Assert.Contains(expected, (string?)error!["error"]);
        using var health = await server.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("", server.Errors); // foreseen: no stack in the server's log
    }

    [Fact]
    public void BadServeOptionsAreOneLineAndExit2()
    {
        CliRunner.AssertBadInput(CliRunner.Run("serve", "--model", FixtureModel.Dir, "--port", "70000"), "--port 70000: expected 0 (any free port) to 65535");
        CliRunner.AssertBadInput(CliRunner.Run("serve", "--model", FixtureModel.Dir, "--host", "nowhere"), "--host nowhere: expected an IP address");
        CliRunner.AssertBadInput(CliRunner.Run("serve", "--model", FixtureModel.Dir, "--max-queue", "-1"), "--max-queue -1: expected 0 or more");
        CliRunner.AssertBadInput(CliRunner.Run("serve", "--model", FixtureModel.Dir, "--max-batch", "0"), "--max-batch 0: expected 1 (one generation at a time) to 16");
        CliRunner.AssertBadInput(CliRunner.Run("serve", "--model", FixtureModel.Dir, "--max-batch", "17"), "--max-batch 17: expected 1");
        CliRunner.AssertBadInput(CliRunner.Run("serve", "--model", FixtureModel.Dir, "--max-body-bytes", "10"), "--max-body-bytes 10: expected at least 1024");
        CliRunner.AssertBadInput(CliRunner.Run("serve", "--model", FixtureModel.Dir, "--api-key", "two words"), "expected printable ASCII without spaces");
        CliRunner.AssertBadInput(CliRunner.Run("serve", "--model", Path.Combine(_dir, "missing")), "missing");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        CliRunner.AssertBadInput(CliRunner.Run("serve", "--model", FixtureModel.Dir, "--port", port.ToString()), $"--port {port}: 127.0.0.1:{port} is already in use");
    }

    [Fact]
    public async Task ABodyOverTheLimitGets413AndTheNextRequestIsServed()
    {
        using var server = ServerProcess.Start("--model", FixtureModel.Dir, "--max-body-bytes", "2048");
        string big = $$"""{"prompt": "a", "padding": "{{new string('x', 5000)}}"}""";
        var (status, body, _) = await PostAsync(server.Http, "/v1/completions", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("over the limit of 2,048 bytes", (string?)body!["error"]!["message"]);
        var (next, _, text) = await PostAsync(server.Http, "/v1/completions", """{"prompt": "Every effort", "max_tokens": 2}""");
        Assert.True(next == HttpStatusCode.OK, text);
    }

    [Fact]
    public async Task AnInstructionModelsChatAnswerIsRespondsAnswer()
    {
        const string instruction = "Name the capital of France.";
        var respond = CliRunner.Run("respond", "--model", ServedModels.Instruction, "--instruction", instruction, "--max-new-tokens", "30", "--json");
        string expected = (string)CliRunner.Json(respond).GetProperty("response").GetString()!;
        Assert.NotEqual("", expected);

        using var server = ServerProcess.Start("--model", ServedModels.Instruction);
        var model = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models"))!["data"]![0]!;
        Assert.Equal("instruction", (string?)model["kind"]);
        Assert.Equal("instruct", (string?)model["id"]);
        string request = $$"""{"messages": [{"role": "user", "content": "{{instruction}}"}], "max_tokens": 30, "temperature": 0}""";
        var (_, body, text) = await PostAsync(server.Http, "/v1/chat/completions", request);
        Assert.True(body?["choices"] != null, text);
        Assert.Equal(expected, (string?)body!["choices"]![0]!["message"]!["content"]);
        var (_, _, streamed) = await PostAsync(server.Http, "/v1/chat/completions", request.Replace("\"temperature\"", "\"stream\": true, \"temperature\""));
        string joined = string.Concat(ServeApiTests.Events(streamed)[..^1].Select(e => (string?)JsonNode.Parse(e)!["choices"]![0]!["delta"]!["content"]));
        Assert.Equal(expected, joined.TrimEnd());
        var (_, ollama, _) = await PostAsync(server.Http, "/api/generate", $$"""{"model": "instruct", "prompt": "{{instruction}}", "stream": false, "options": {"temperature": 0, "num_predict": 30} }""");
        Assert.Equal(expected, (string?)ollama!["response"]);
    }

    [Fact]
    public async Task AClassifierAnswersClassifyAsTheClassifyCommandDoes()
    {
        string[] texts = ["WINNER!! You have won a free prize, call now", "Are we still on for lunch tomorrow?"];
        string file = Path.Combine(_dir, "texts.txt");
        File.WriteAllLines(file, texts);
        var cli = CliRunner.Run("classify", "--model", ServedModels.Classifier, "--file", file, "--json");
        Assert.True(cli.ExitCode == 0, cli.Stderr);
        // One JSON line per text; probabilities rounded to 6 places.
        var expected = cli.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

        using var server = ServerProcess.Start("--model", ServedModels.Classifier, "--name", "spam");
        var model = JsonNode.Parse(await server.Http.GetStringAsync("/v1/models"))!["data"]![0]!;
        Assert.Equal("classifier", (string?)model["kind"]);
        Assert.Equal(["ham", "spam"], model["labels"]!.AsArray().Select(l => (string)l!));
        var (status, body, text) = await PostAsync(server.Http, "/v1/classify", $$"""{"model": "spam", "input": {{JsonSerializer.Serialize(texts)}}}""");
        Assert.True(status == HttpStatusCode.OK, text);
        var data = body!["data"]!.AsArray();
        Assert.Equal(2, data.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(expected[i].GetProperty("label").GetString(), (string?)data[i]!["label"]);
            var probabilities = data[i]!["probabilities"]!.AsObject();
            Assert.Equal(1.0, probabilities.Sum(p => (double)p.Value!), 6);
            foreach (var (label, p) in probabilities)
                Assert.Equal(expected[i].GetProperty("probabilities").GetProperty(label).GetDouble(), (double)p!, 5);
        }
        var (_, one, _) = await PostAsync(server.Http, "/v1/classify", $$"""{"input": {{JsonSerializer.Serialize(texts[0])}}}""");
        Assert.Equal((string?)data[0]!["label"], (string?)one!["data"]![0]!["label"]);
        var (refused, error, _) = await PostAsync(server.Http, "/v1/completions", """{"prompt": "hello"}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Contains("is a classifier (ham, spam)", (string?)error!["error"]!["message"]);
        var (empty, _, _) = await PostAsync(server.Http, "/v1/classify", """{"input": []}""");
        Assert.Equal(HttpStatusCode.BadRequest, empty);
    }

    [Theory]
    [InlineData("ollama")]
    [InlineData("openai")]
    public void TheJudgeCommandWorksAgainstAServedModel(string api)
    {
        string responses = Path.Combine(_dir, "responses.json");
        File.WriteAllText(responses, """
            [{"instruction": "Name the capital of France.", "input": "", "output": "Paris.", "model_response": "Paris."},
             {"instruction": "Add 2 and 3.", "input": "", "output": "5", "model_response": "6"}]
            """);
        using var server = ServerProcess.Start("--model", ServedModels.Instruction, "--name", "judge", "--api-key", "k");
        var result = CliRunner.Json(CliRunner.Run("judge", "--responses", responses, "--endpoint", server.Url.ToString(),
            "--judge-model", "judge", "--api", api, "--api-key", "k", "--json"));
        // The judge is a tiny random model: its answers need not hold a score, but every entry was asked and answered.
        Assert.Equal(2, result.GetProperty("count").GetInt32());
        Assert.Equal(2, server.Output.Split('\n').Count(l => l.StartsWith(api == "ollama" ? "POST /api/chat 200 " : "POST /v1/chat/completions 200 ")));
    }
}
