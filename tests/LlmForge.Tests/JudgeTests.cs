using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using LlmForge.Evaluation.Judge;
using Xunit.Abstractions;

namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge judge</c> against real HTTP servers on loopback that speak Ollama's and OpenAI's chat protocols:
/// the requests they receive, the scores read from their answers, retries, and the ways a judge can fail.
/// </summary>
public sealed class JudgeTests(ITestOutputHelper output) : ScratchDirectory("llmforge-judge")
{
    // The book's first test entries: one with an input, one with an empty input, one without the field.
    const string Responses = """
        [
          {"instruction": "Rewrite the sentence using a simile.", "input": "The car is very fast.",
           "output": "The car is as fast as lightning.", "model_response": "The car is as fast as a bullet."},
          {"instruction": "What type of cloud is typically associated with thunderstorms?", "input": "",
           "output": "The type of cloud typically associated with thunderstorms is cumulonimbus.",
           "model_response": "The type of cloud associated with thunderstorms is a cumulus cloud."},
          {"instruction": "Name the author of 'Pride and Prejudice'.",
           "output": "Jane Austen wrote 'Pride and Prejudice'.", "model_response": "The author of 'Pride and Prejudice' is Jane Austen."}
        ]
        """;

    // The book's prompt, written out by hand: the Alpaca input (with "### Input" only when there is one).
    const string FirstPrompt =
        "Given the input `Below is an instruction that describes a task. Write a response that appropriately completes the request."
        + "\n\n### Instruction:\nRewrite the sentence using a simile.\n\n### Input:\nThe car is very fast.` "
        + "and correct output `The car is as fast as lightning.`, score the model response `The car is as fast as a bullet.` "
        + "on a scale from 0 to 100, where 100 is the best score. Respond with the integer number only.";

    const string SecondPrompt =
        "Given the input `Below is an instruction that describes a task. Write a response that appropriately completes the request."
        + "\n\n### Instruction:\nWhat type of cloud is typically associated with thunderstorms?` "
        + "and correct output `The type of cloud typically associated with thunderstorms is cumulonimbus.`, "
        + "score the model response `The type of cloud associated with thunderstorms is a cumulus cloud.` "
        + "on a scale from 0 to 100, where 100 is the best score. Respond with the integer number only.";

    string ResponsesFile(string text = Responses)
    {
        string path = Path.Combine(_dir, $"responses-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Runs llmforge judge without the API keys of whoever runs the tests, plus <paramref name="environment"/>.</summary>
    static CliRunner.Result Judge(string[] args, Dictionary<string, string>? environment = null)
    {
        var env = new Dictionary<string, string> { ["LLMFORGE_JUDGE_API_KEY"] = "", ["OPENAI_API_KEY"] = "" };
        foreach (var (name, value) in environment ?? []) env[name] = value;
        return CliRunner.Run(["judge", .. args], env);
    }

    static int?[] Scores(JsonElement json) =>
        [.. json.GetProperty("scores").EnumerateArray().Select(s => s.ValueKind == JsonValueKind.Null ? (int?)null : s.GetInt32())];

    [Fact]
    public async Task Ollama_ScoresEachEntry_AndPrintsTheAverage()
    {
        string[] answers = ["85", "Score: 40/100", "**90**"];
        await using var server = await JudgeServer.StartAsync((i, _) => (200, JudgeServer.OllamaReply(answers[i])));

        var result = Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--judge-model", "llama3"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(
            ["entry 0: 85", "entry 1: 40", "entry 2: 90", "average score 71.67 over 3 of 3 entries"],
            result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("judge: 3/3 entries", result.Stderr);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Ollama_RequestCarriesTheModelTemperatureSeedAndTheBooksPrompt()
    {
        await using var server = await JudgeServer.StartAsync((_, _) => (200, JudgeServer.OllamaReply("50")));

        var json = CliRunner.Json(Judge(["--responses", ResponsesFile(), "--endpoint", server.Url + "/", "--judge-model", "llama3.1:8b", "--seed", "7", "--json"]));

        Assert.Equal(3, json.GetProperty("count").GetInt32());
        var requests = server.Requests;
        Assert.Equal(3, requests.Count);
        foreach (var request in requests)
        {
            Assert.Equal("/api/chat", request.Path);
            Assert.Null(request.Authorization);
            var body = request.Json;
            Assert.Equal("llama3.1:8b", body.GetProperty("model").GetString());
            Assert.False(body.GetProperty("stream").GetBoolean());
            Assert.Equal(0, body.GetProperty("options").GetProperty("temperature").GetDouble());
            Assert.Equal(7, body.GetProperty("options").GetProperty("seed").GetInt32());
            Assert.Equal("user", body.GetProperty("messages")[0].GetProperty("role").GetString());
        }
        Assert.Equal(FirstPrompt, requests[0].Prompt);
        Assert.Equal(SecondPrompt, requests[1].Prompt);
        // No "input" field is no input, as an empty one.
        Assert.DoesNotContain("### Input", requests[2].Prompt);
        Assert.Contains("`Jane Austen wrote 'Pride and Prejudice'.`", requests[2].Prompt);
        Assert.Contains("`The author of 'Pride and Prejudice' is Jane Austen.`", requests[2].Prompt);
    }

    [Fact]
    public async Task OpenAI_SendsTheBearerKeyTemperatureAndSeed_AndReadsTheFirstChoice()
    {
        string[] answers = ["72", "The score is 64.", "100"];
        await using var server = await JudgeServer.StartAsync((i, _) => (200, JudgeServer.OpenAIReply(answers[i])));

        var json = CliRunner.Json(Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--api", "openai",
            "--judge-model", "gpt-4o-mini", "--api-key", "sk-test-123", "--seed", "5", "--json"]));

        Assert.Equal([72, 64, 100], Scores(json));
        Assert.Equal(3, json.GetProperty("scored").GetInt32());
        Assert.Equal(78.6667, json.GetProperty("average").GetDouble());
        foreach (var request in server.Requests)
        {
            Assert.Equal("/v1/chat/completions", request.Path);
            Assert.Equal("Bearer sk-test-123", request.Authorization);
            var body = request.Json;
            Assert.Equal("gpt-4o-mini", body.GetProperty("model").GetString());
            Assert.Equal(0, body.GetProperty("temperature").GetDouble());
            Assert.Equal(5, body.GetProperty("seed").GetInt32());
        }
        Assert.Equal(FirstPrompt, server.Requests[0].Prompt);
    }

    [Fact]
    public async Task OpenAI_TakesTheKeyFromTheEnvironment_AndTheV1BaseUrl()
    {
        await using var server = await JudgeServer.StartAsync((_, _) => (200, JudgeServer.OpenAIReply("60")));
        string file = ResponsesFile();
        string[] args = ["--responses", file, "--endpoint", server.Url + "/v1", "--api", "openai", "--judge-model", "m", "--json"];

        CliRunner.Json(Judge(args, new() { ["OPENAI_API_KEY"] = "sk-from-openai-variable" }));
        CliRunner.Json(Judge(args, new() { ["OPENAI_API_KEY"] = "sk-from-openai-variable", ["LLMFORGE_JUDGE_API_KEY"] = "sk-judge" }));

        var requests = server.Requests;
        Assert.Equal(6, requests.Count);
        Assert.All(requests, r => Assert.Equal("/v1/chat/completions", r.Path));
        Assert.All(requests.Take(3), r => Assert.Equal("Bearer sk-from-openai-variable", r.Authorization));
        Assert.All(requests.Skip(3), r => Assert.Equal("Bearer sk-judge", r.Authorization));
    }

    [Fact]
    public async Task AnswersWithoutAScore_AreCountedUnscored_NotACrash()
    {
        string[] answers = ["I would rate this response as quite good.", "150", "On a scale from 0 to 100, I'd give it 40."];
        await using var server = await JudgeServer.StartAsync((i, _) => (200, JudgeServer.OllamaReply(answers[i % 3])));
        string file = ResponsesFile();
        string[] args = ["--responses", file, "--endpoint", server.Url, "--judge-model", "llama3"];

        var json = CliRunner.Json(Judge([.. args, "--json"]));
        var text = Judge(args);

        Assert.Equal(3, json.GetProperty("count").GetInt32());
        Assert.Equal(1, json.GetProperty("scored").GetInt32());
        Assert.Equal(40, json.GetProperty("average").GetDouble());
        Assert.Equal([null, null, 40], Scores(json));
        Assert.True(text.ExitCode == 0, text.Stderr);
        Assert.Equal(
            [
                "entry 0: unscored (no number in the answer: \"I would rate this response as quite good.\")",
                "entry 1: unscored (the answer's number is not a whole number from 0 to 100: \"150\")",
                "entry 2: 40",
                "average score 40.00 over 1 of 3 entries (2 unscored)",
            ],
            text.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task NoEntryScored_HasANullAverage()
    {
        await using var server = await JudgeServer.StartAsync((_, _) => (200, JudgeServer.OpenAIReply(null)));

        var json = CliRunner.Json(Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--api", "openai", "--judge-model", "m", "--json"]));

        Assert.Equal(0, json.GetProperty("scored").GetInt32());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("average").ValueKind);
        Assert.Equal([null, null, null], Scores(json));
    }

    [Fact]
    public async Task ServerErrorsAreRetried_AndTheRunSucceeds()
    {
        await using var server = await JudgeServer.StartAsync((i, _) => i switch
        {
            0 => (500, JudgeServer.OllamaError("llama runner process has terminated")),
            1 => (429, JudgeServer.OllamaError("server busy, please try again")),
            _ => (200, JudgeServer.OllamaReply("77")),
        });

        var result = Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--judge-model", "llama3", "--json"]);

        var json = CliRunner.Json(result);
        Assert.Equal([77, 77, 77], Scores(json));
        var requests = server.Requests;
        Assert.Equal(5, requests.Count); // the first entry three times
        Assert.All(requests.Take(3), r => Assert.Equal(FirstPrompt, r.Prompt));
        Assert.Contains("HTTP 500: llama runner process has terminated; trying again in 0.5 s", result.Stderr);
        Assert.Contains("HTTP 429: server busy, please try again; trying again in 1 s", result.Stderr);
    }

    [Fact]
    public async Task AnswerThatTakesTooLong_IsAskedAgain()
    {
        await using var server = await JudgeServer.StartAsync((i, _) =>
        {
            // Far past --timeout: the client gives up on this try. The timeout leaves the instant answers room on a
            // loaded machine (at 0.5 s, CI once saw a second one time out too).
            if (i == 0) Thread.Sleep(TimeSpan.FromSeconds(6));
            return (200, JudgeServer.OllamaReply("61"));
        });

        var result = Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--judge-model", "llama3", "--timeout", "2", "--retries", "1", "--json"]);

        Assert.Equal([61, 61, 61], Scores(CliRunner.Json(result)));
        Assert.Contains("no answer within 2 s; trying again in 0.5 s", result.Stderr);
        Assert.Equal(4, server.Requests.Count);
    }

    [Fact]
    public async Task JudgeOnThisMachine_IsAskedDirectly_EvenWithAProxyConfigured()
    {
        // A proxy nobody listens on: were the request sent through it, the connection would be refused.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        string proxy = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        listener.Stop();
        await using var server = await JudgeServer.StartAsync((_, _) => (200, JudgeServer.OllamaReply("58")));

        var result = Judge(["--responses", ResponsesFile(), "--endpoint", server.Url.Replace("127.0.0.1", "localhost"), "--judge-model", "llama3", "--retries", "0", "--json"],
            new() { ["http_proxy"] = proxy, ["HTTP_PROXY"] = proxy, ["all_proxy"] = proxy, ["no_proxy"] = "", ["NO_PROXY"] = "" });

        Assert.Equal([58, 58, 58], Scores(CliRunner.Json(result)));
    }

    [Fact]
    public async Task ServerErrorThatPersists_IsAFailureAfterTheRetries()
    {
        await using var server = await JudgeServer.StartAsync((_, _) => (503, "upstream unavailable"));

        var result = Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--judge-model", "llama3", "--retries", "2"]);

        Assert.True(result.ExitCode == 1, result.Stderr);
        Assert.Equal("", result.Stdout);
        string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length); // two warnings, one error
        Assert.StartsWith($"llmforge: {server.Url}/api/chat: HTTP 503: \"upstream unavailable\" (3 tries in ", lines[^1]);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task ModelNotFound_IsAFailureWithTheServersMessage_WithoutRetries()
    {
        await using var server = await JudgeServer.StartAsync((_, _) => (404, JudgeServer.OllamaError("model \"llama9\" not found, try pulling it first")));

        var result = Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--judge-model", "llama9"]);

        Assert.True(result.ExitCode == 1, result.Stderr);
        Assert.Equal(
            $"llmforge: {server.Url}/api/chat: HTTP 404: model \"llama9\" not found, try pulling it first; check --endpoint, --api and --judge-model\n",
            result.Stderr.ReplaceLineEndings("\n"));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task WrongKey_IsAFailureNamingTheOption()
    {
        await using var server = await JudgeServer.StartAsync((_, _) =>
            (401, """{"error": {"message": "Incorrect API key provided: sk-wrong.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}"""));

        var result = Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--api", "openai", "--judge-model", "m", "--api-key", "sk-wrong"]);

        Assert.True(result.ExitCode == 1, result.Stderr);
        Assert.Contains("HTTP 401: Incorrect API key provided: sk-wrong.; check --api-key", result.Stderr);
        Assert.Single(server.Requests);
    }

    [Theory]
    [InlineData("ollama", "<html><body>Welcome to nginx!</body></html>", "is not an Ollama /api/chat response (expected JSON with message.content)")]
    [InlineData("ollama", """{"model": "llama3", "done": true}""", "is not an Ollama /api/chat response")]
    [InlineData("openai", """{"id": "x", "object": "chat.completion", "choices": []}""", "is not an OpenAI /v1/chat/completions response (expected JSON with choices[0].message.content)")]
    public async Task ReplyNotInTheProtocol_IsAClearFailure(string api, string reply, string expected)
    {
        await using var server = await JudgeServer.StartAsync((_, _) => (200, reply));

        var result = Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--api", api, "--judge-model", "m"]);

        Assert.True(result.ExitCode == 1, result.Stderr);
        Assert.Contains(expected, result.Stderr);
        Assert.EndsWith("; check --endpoint and --api", result.Stderr.TrimEnd());
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task FailureAfterTheFirstEntry_NamesTheEntry()
    {
        await using var server = await JudgeServer.StartAsync((i, _) => i == 0 ? (200, JudgeServer.OllamaReply("80")) : (200, "not json"));

        var result = Judge(["--responses", ResponsesFile(), "--endpoint", server.Url, "--judge-model", "llama3"]);

        Assert.True(result.ExitCode == 1, result.Stderr);
        Assert.StartsWith($"llmforge: entry 1 of 3: {server.Url}/api/chat: the reply is not", result.Stderr);
    }

    [Theory]
    [InlineData("ollama")]
    [InlineData("openai")]
    public void UnreachableEndpoint_IsAClearErrorWithinSeconds(string api)
    {
        // A port that was just free: nothing listens there, so connections are refused.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var clock = Stopwatch.StartNew();
        var result = Judge(["--responses", ResponsesFile(), "--endpoint", $"http://127.0.0.1:{port}", "--api", api, "--judge-model", "m"]);
        clock.Stop();
        output.WriteLine($"unreachable endpoint ({api}): exit {result.ExitCode} after {clock.Elapsed.TotalSeconds:F2} s");
        output.WriteLine(result.Stderr);

        Assert.True(result.ExitCode == 1, result.Stderr);
        Assert.Equal("", result.Stdout);
        string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines[..^1], line => Assert.Contains("cannot connect", line)); // the retries, as warnings
        Assert.Matches(@"^llmforge: http://127\.0\.0\.1:\d+/(api/chat|v1/chat/completions): cannot connect: Connection refused \(\d tries in \d+(\.\d)? s\); is ", lines[^1]);
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}"); // loose: the client gives up within about 4 s
    }

    [Theory]
    [InlineData("{\"instruction\": \"x\"}", "an object at the top, expected an array of entries")]
    [InlineData("[]", "the array has no entries")]
    [InlineData("[{\"instruction\": \"a\", \"output\": \"b\", \"model_response\": \"c\"}, {\"instruction\": \"a\", \"output\": \"b\"}]", "entry 1: \"model_response\" is missing, expected a string")]
    [InlineData("[{\"instruction\": \"a\", \"output\": 3, \"model_response\": \"c\"}]", "entry 0: \"output\" is a number, expected a string")]
    [InlineData("[{\"instruction\": null, \"output\": \"b\", \"model_response\": \"c\"}]", "entry 0: \"instruction\" is null, expected a string")]
    [InlineData("[{\"instruction\": \"a\", \"input\": [\"x\"], \"output\": \"b\", \"model_response\": \"c\"}]", "entry 0: \"input\" is an array, expected a string")]
    [InlineData("[\"just text\"]", "entry 0 is a string, expected an object with instruction, input, output and model_response")]
    [InlineData("[{\"instruction\": \"a\",", "not valid JSON (line 1, byte")]
    public async Task BadResponsesFile_IsBadInputNamingTheEntryAndField_BeforeAnyRequest(string content, string expected)
    {
        await using var server = await JudgeServer.StartAsync((_, _) => (200, JudgeServer.OllamaReply("50")));
        string file = ResponsesFile(content);

        var result = Judge(["--responses", file, "--endpoint", server.Url, "--judge-model", "llama3"]);

        CliRunner.AssertBadInput(result, $"{file}: {expected}");
        Assert.Empty(server.Requests);
    }

    [Theory]
    [InlineData(new[] { "--api", "anthropic" }, "--api anthropic: expected ollama or openai")]
    [InlineData(new[] { "--endpoint", "localhost:11434" }, "--endpoint 'localhost:11434': expected an http:// or https:// URL")]
    [InlineData(new[] { "--judge-model", " " }, "--judge-model is empty")]
    [InlineData(new[] { "--api-key", "" }, "the API key (--api-key, LLMFORGE_JUDGE_API_KEY or OPENAI_API_KEY): expected printable ASCII without spaces")]
    [InlineData(new[] { "--api-key", "sk-abc\n" }, "the API key (--api-key, LLMFORGE_JUDGE_API_KEY or OPENAI_API_KEY): expected printable ASCII without spaces")]
    [InlineData(new[] { "--timeout", "0" }, "--timeout 0: expected seconds above 0")]
    [InlineData(new[] { "--retries", "11" }, "--retries 11: expected 0 to 10")]
    [InlineData(new[] { "--responses", "/nonexistent/responses.json" }, "/nonexistent/responses.json: no such file")]
    public async Task BadOptions_AreBadInput_BeforeAnyRequest(string[] change, string expected)
    {
        await using var server = await JudgeServer.StartAsync((_, _) => (200, JudgeServer.OllamaReply("50")));
        var options = new Dictionary<string, string> { ["--responses"] = ResponsesFile(), ["--endpoint"] = server.Url, ["--judge-model"] = "llama3" };
        options[change[0]] = change[1];

        var result = Judge([.. options.SelectMany(o => new[] { o.Key, o.Value })]);

        CliRunner.AssertBadInput(result, expected);
        Assert.Empty(server.Requests);
    }

    [Theory]
    [InlineData("85", 85)]
    [InlineData("Score: 85", 85)]
    [InlineData("85/100", 85)]
    [InlineData("**90**", 90)]
    [InlineData("__90__", 90)]
    [InlineData("0", 0)]
    [InlineData("100.", 100)]
    [InlineData("85.0", 85)]
    [InlineData("90%", 90)]
    [InlineData(" \n 42\n", 42)]
    [InlineData("On a scale from 0 to 100, I would score it 73.", 73)]
    [InlineData("Score (0-100): 55", 55)]
    [InlineData("I'd give it 7 out of 10", 7)]
    [InlineData("", null)]
    [InlineData("Good answer.", null)]
    [InlineData("101", null)]
    [InlineData("-5", null)]
    [InlineData("87.5", null)]
    [InlineData("GPT4 thinks so", null)]
    [InlineData("99999999999999999999999999999999999", null)]
    public void Score_IsTheFirstWholeNumberFrom0To100(string answer, int? expected) =>
        Assert.Equal(expected, JudgeScore.Parse(answer));

    [Theory]
    [InlineData("http://localhost:11434", "ollama", "http://localhost:11434/api/chat")]
    [InlineData("http://localhost:11434/", "ollama", "http://localhost:11434/api/chat")]
    [InlineData("http://localhost:11434/api/chat", "ollama", "http://localhost:11434/api/chat")]
    [InlineData("http://localhost:8000", "openai", "http://localhost:8000/v1/chat/completions")]
    [InlineData("https://api.openai.com/v1", "openai", "https://api.openai.com/v1/chat/completions")]
    [InlineData("http://host/proxy/v1/", "openai", "http://host/proxy/v1/chat/completions")]
    [InlineData("http://host/v1/chat/completions", "openai", "http://host/v1/chat/completions")]
    public void Endpoint_IsTheServersBaseUrlOrItsChatUrl(string given, string api, string expected) =>
        Assert.Equal(expected, JudgeEndpoint.Resolve(given, JudgeApiNames.Parse(api)).ChatUrl.ToString());
}
