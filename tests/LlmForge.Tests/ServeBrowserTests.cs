namespace LlmForge.Tests;

/// <summary>
/// The page of <c>llmforge serve</c> in a real browser (headless Chromium, tests/clients/browser.mjs): it streams,
/// stops, shows the rate and the API's errors, classifies, and asks for the key. Each test leaves a screenshot.
/// </summary>
[Collection(ServeClientTests.Collection)]
public sealed class ServeBrowserTests() : ScratchDirectory("llmforge-serve-browser")
{
    const string Chromium = "/usr/bin/chromium";

    /// <summary>The screenshot's path under the test output (bin/.../screenshots), any older one removed.</summary>
    static string Screenshot(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, name);
        File.Delete(path);
        return path;
    }

    static JsonElement Browse(ServerProcess server, string screenshot, params string[] mode)
    {
        Assert.True(File.Exists(Chromium), $"Debian's Chromium is not installed ({Chromium}): apt-get install chromium");
        var got = NodeScript.Json(NodeScript.Run("browser.mjs", [server.Url.ToString(), screenshot, .. mode]), server.Output);
        byte[] png = File.ReadAllBytes(screenshot);
        Assert.True(png.Length > 1000 && png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }),
            $"{screenshot} is not a PNG image ({png.Length} bytes)");
        return got;
    }

    [Fact]
    public void ThePageStreamsStopsShowsTheRateAndTheApisErrors()
    {
        using var server = ServerProcess.Start("--model", FixtureModel.Dir);
        // The most the server takes: the context (64) less the prompt's 4 tokens.
        var got = Browse(server, Screenshot("serve-generate.png"), "generate", "60");

        Assert.Equal("base", got.GetProperty("kind").GetString());
        Assert.Equal(60, got.GetProperty("max_tokens_sent").GetInt32());
        var lengths = got.GetProperty("lengths");
        Assert.True(lengths.GetProperty("grown").GetInt32() > lengths.GetProperty("first").GetInt32(), lengths.ToString());
        Assert.Equal(lengths.GetProperty("at_stop").GetInt32(), lengths.GetProperty("after_stop").GetInt32());
        Assert.StartsWith("Stopped after", got.GetProperty("stopped_status").GetString());
        Assert.Contains("chunks/s", got.GetProperty("live_rate").GetString());

        // The greedy answer shown is the CLI's, and its rate is from the usage the server sent.
        string expected = ServeClientTests.CliContinuation(FixtureModel.Dir, "Every effort moves you", 8);
        Assert.Equal(expected, got.GetProperty("replies").EnumerateArray().Last().GetString());
        Assert.Contains("tokens/s (8 tokens in", got.GetProperty("final_rate").GetString());

        // A prompt longer than the context: the API's 413 and its message, shown in the page.
        Assert.StartsWith("Error 413: ", got.GetProperty("error_status").GetString());
    }

    [Fact]
    public void ThePageChatsWithAnInstructionModelAsRespondAnswers()
    {
        string run = Path.Combine(_dir, "instruct");
        CliRunner.Json(CliRunner.Run("finetune", "instruct", "--model", FixtureModel.BookPth, "--config", FixtureModel.BookConfig,
            "--train", Path.Combine(ClassificationFixture.Dir, "instructions-8.json"), "--max-steps", "1", "--batch-size", "4", "--out", run, "--json"));
        using var server = ServerProcess.Start("--model", run);
        // The most the server takes: the context (64) less the Alpaca prompt's 28 tokens.
        var got = Browse(server, Screenshot("serve-chat.png"), "generate", "36");

        Assert.Equal("instruction", got.GetProperty("kind").GetString());
        Assert.Equal(36, got.GetProperty("max_tokens_sent").GetInt32());
        var lengths = got.GetProperty("lengths");
        Assert.Equal(lengths.GetProperty("at_stop").GetInt32(), lengths.GetProperty("after_stop").GetInt32());
        Assert.StartsWith("Stopped after", got.GetProperty("stopped_status").GetString());
        // One user message in a new conversation is `llmforge respond`'s prompt (Alpaca), so the greedy answers agree.
        var respond = CliRunner.Json(CliRunner.Run("respond", "--model", run, "--instruction", "Every effort moves you", "--max-new-tokens", "8", "--json"));
        Assert.Equal(respond.GetProperty("response").GetString(), got.GetProperty("replies").EnumerateArray().Last().GetString());
        Assert.StartsWith("Error 413: ", got.GetProperty("error_status").GetString());
    }

    [Fact]
    public void ThePageShowsTheClassifiersLabelAndProbabilities()
    {
        string run = Path.Combine(_dir, "classifier");
        string fixture = ClassificationFixture.Spam24;
        CliRunner.Json(CliRunner.Run("finetune", "classify", "--model", ClassificationFixture.InitPth, "--config", FixtureModel.BookConfig,
            "--train", fixture, "--validation", fixture, "--test", fixture, "--epochs", "1", "--batch-size", "8", "--out", run, "--json"));
        using var server = ServerProcess.Start("--model", run);
        var got = Browse(server, Screenshot("serve-classify.png"), "classify");

        var cli = CliRunner.Json(CliRunner.Run("classify", "--model", run, "--text", got.GetProperty("input").GetString()!, "--json"));
        Assert.Equal(cli.GetProperty("label").GetString(), got.GetProperty("label").GetString());
        var rows = got.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["ham", "spam"], rows.Select(r => r.GetProperty("label").GetString()));
        foreach (var row in rows)
        {
            double expected = cli.GetProperty("probabilities").GetProperty(row.GetProperty("label").GetString()!).GetDouble() * 100;
            Assert.InRange(row.GetProperty("percent").GetDouble(), expected - 0.051, expected + 0.051); // shown to 0.1 %
        }
    }

    [Fact]
    public void ThePageAsksForTheApiKeyAndWorksOnceItIsGiven()
    {
        const string key = "page-key-93c2";
        using var server = ServerProcess.Start("--model", FixtureModel.Dir, "--api-key", key);
        var got = Browse(server, Screenshot("serve-key.png"), "key", key);

        Assert.StartsWith("This server needs an API key", got.GetProperty("asked_status").GetString());
        Assert.StartsWith("The API key was refused", got.GetProperty("wrong_key_status").GetString());
        Assert.StartsWith("Done", got.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(got.GetProperty("reply").GetString()));
    }
}
