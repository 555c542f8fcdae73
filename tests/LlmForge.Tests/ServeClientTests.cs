namespace LlmForge.Tests;

/// <summary>
/// <c>llmforge serve</c> used by real client libraries (the openai and ollama npm packages, tests/clients): what they get
/// for greedy requests is what <c>llmforge generate</c> prints for the same prompt, streamed or not.
/// </summary>
[Collection(ServeClientTests.Collection)]
public sealed class ServeClientTests
{
    /// <summary>These tests start servers, node and Chromium: one at a time, on a machine of 2 cores.</summary>
    public const string Collection = "llmforge serve with real clients";

    const string Prompt = "Every effort moves you"; // the scripts' default prompt; 4 GPT-2 tokens
    const int Tokens = 8;                             // the scripts' default max tokens

    /// <summary>The CLI's greedy continuation of <paramref name="prompt"/> (its text less the prompt).</summary>
    internal static string CliContinuation(string model, string prompt, int tokens)
    {
        var json = CliRunner.Json(CliRunner.Run("generate", "--model", model, "--prompt", prompt, "--max-new-tokens", tokens.ToString(), "--json"));
        string text = json.GetProperty("text").GetString()!;
        Assert.StartsWith(prompt, text);
        return text[prompt.Length..];
    }

    static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    static void AssertUsage(JsonElement usage)
    {
        Assert.Equal(4, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(Tokens, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(4 + Tokens, usage.GetProperty("total_tokens").GetInt32());
    }

    static void AssertStream(JsonElement stream, string expected, string chunkObject)
    {
        Assert.Equal(expected, stream.GetProperty("text").GetString());
        // Streamed piece by piece (one or a few tokens a chunk), not as one block.
        Assert.InRange(stream.GetProperty("content_chunks").GetInt32(), 2, Tokens);
        Assert.Equal([chunkObject], Strings(stream.GetProperty("objects"))); // every chunk, the usage one too
        Assert.Equal(["length"], Strings(stream.GetProperty("finish_reasons")));
        AssertUsage(stream.GetProperty("usage"));
        Assert.True(stream.GetProperty("usage_chunk_last").GetBoolean(), "the usage chunk (choices []) is not the last one");
    }

    [Fact]
    public void TheOpenAiPackageGetsTheCliGreedyTextStreamedAndNot()
    {
        using var server = ServerProcess.Start("--model", FixtureModel.Dir);
        var got = NodeScript.Json(NodeScript.Run("openai-client.mjs", server.Url.ToString()), server.Output);
        string expected = CliContinuation(FixtureModel.Dir, Prompt, Tokens);

        Assert.Equal(["tiny-gpt2"], Strings(got.GetProperty("models")));
        var entry = got.GetProperty("model_entries")[0];
        Assert.Equal("base", entry.GetProperty("kind").GetString());
        Assert.Equal(64, entry.GetProperty("context_length").GetInt32());
        Assert.Equal("llmforge", entry.GetProperty("owned_by").GetString());

        var completion = got.GetProperty("completion");
        Assert.Equal("text_completion", completion.GetProperty("object").GetString());
        Assert.Equal(expected, completion.GetProperty("text").GetString());
        Assert.Equal("length", completion.GetProperty("finish_reason").GetString());
        AssertUsage(completion.GetProperty("usage"));
        AssertStream(got.GetProperty("completion_stream"), expected, "text_completion");

        // A base model continues the one message's text: the same as the completion.
        var chat = got.GetProperty("chat");
        Assert.Equal("chat.completion", chat.GetProperty("object").GetString());
        Assert.Equal("assistant", chat.GetProperty("role").GetString());
        Assert.Equal(expected, chat.GetProperty("content").GetString());
        Assert.Equal("length", chat.GetProperty("finish_reason").GetString());
        AssertUsage(chat.GetProperty("usage"));
        AssertStream(got.GetProperty("chat_stream"), expected, "chat.completion.chunk");
    }

    [Fact]
    public void TheOllamaPackageGetsTheCliGreedyTextStreamedAndNot()
    {
        using var server = ServerProcess.Start("--model", FixtureModel.Dir);
        var got = NodeScript.Json(NodeScript.Run("ollama-client.mjs", server.Url.ToString()), server.Output);
        string expected = CliContinuation(FixtureModel.Dir, Prompt, Tokens);

        Assert.Equal(["tiny-gpt2:latest"], Strings(got.GetProperty("models")));
        foreach (string call in new[] { "generate", "chat" })
        {
            var whole = got.GetProperty(call);
            Assert.Equal(expected, whole.GetProperty("text").GetString());
            Assert.True(whole.GetProperty("done").GetBoolean());
            Assert.Equal("length", whole.GetProperty("done_reason").GetString());
            Assert.Equal(4, whole.GetProperty("prompt_eval_count").GetInt32());
            Assert.Equal(Tokens, whole.GetProperty("eval_count").GetInt32());

            var stream = got.GetProperty(call + "_stream");
            Assert.Equal(expected, stream.GetProperty("text").GetString());
            Assert.InRange(stream.GetProperty("content_parts").GetInt32(), 2, Tokens);
            var final = stream.GetProperty("final");
            Assert.Equal("length", final.GetProperty("done_reason").GetString());
            Assert.Equal(Tokens, final.GetProperty("eval_count").GetInt32());
            Assert.True(final.GetProperty("has_total_duration").GetBoolean());
        }
        Assert.Equal("assistant", got.GetProperty("chat").GetProperty("role").GetString());
    }

    [Fact]
    public void WithAnApiKeyBothPackagesAreRefusedWithoutItAndServedWithIt()
    {
        const string key = "test-key-5b1f";
        using var server = ServerProcess.Start("--model", FixtureModel.Dir, "--api-key", key);

        var refused = NodeScript.Json(NodeScript.Run("openai-client.mjs", server.Url.ToString(), key, "--expect-401"), server.Output);
        foreach (string attempt in new[] { "without_key", "wrong_key" })
        {
            var error = refused.GetProperty(attempt);
            Assert.Equal(401, error.GetProperty("status").GetInt32());
            Assert.Equal("AuthenticationError", error.GetProperty("error").GetString());
            Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        }
        Assert.Equal(["tiny-gpt2"], Strings(refused.GetProperty("right_key").GetProperty("models")));

        var ollama = NodeScript.Json(NodeScript.Run("ollama-client.mjs", server.Url.ToString(), key), server.Output);
        Assert.Equal(Tokens, ollama.GetProperty("generate").GetProperty("eval_count").GetInt32());
        var unkeyed = NodeScript.Run("ollama-client.mjs", server.Url.ToString());
        Assert.Equal(1, unkeyed.ExitCode);
        Assert.Contains("401", unkeyed.Stderr);

        Assert.DoesNotContain(key, server.Output); // the key is never logged
    }
}
