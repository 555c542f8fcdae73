namespace LlmForge.Server;

/// <summary>
/// OpenAI's answers: a <c>text_completion</c> or <c>chat.completion</c> object, or streamed chunks as server-sent
/// events with <c>usage</c> in a last chunk when <c>stream_options.include_usage</c> asks for it, then <c>[DONE]</c>.
/// </summary>
/// <param name="trimEnd">an instruction model's answer ends without trailing white space, as <c>llmforge respond</c> prints it.</param>
public sealed class OpenAiWriter(HttpContext http, bool stream, bool chat, bool includeUsage, string model, bool trimEnd) : CompletionWriter(http, stream)
{
    readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
    readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public override async Task StartAsync()
    {
        if (!Stream) return;
        JsonStream.StartEvents(Response);
        // A chat stream names the speaker once, in its first chunk.
        if (chat) await JsonStream.WriteEventAsync(Response, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
    }

    public override Task PieceAsync(string text)
    {
        if (!Stream)
        {
            Text.Append(text);
            return Task.CompletedTask;
        }
        return JsonStream.WriteEventAsync(Response, Chunk(chat ? new JsonObject { ["content"] = text } : JsonValue.Create(text), null));
    }

    public override async Task EndAsync(CompletionResult result)
    {
        if (!Stream)
        {
            string text = trimEnd ? Text.ToString().TrimEnd() : Text.ToString();
            var choice = new JsonObject { ["index"] = 0 };
            if (chat) choice["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text };
            else choice["text"] = text;
            choice["logprobs"] = null;
            choice["finish_reason"] = result.FinishReason;
            var body = Head(chat ? "chat.completion" : "text_completion");
            body["choices"] = new JsonArray(choice);
            body["usage"] = Usage(result);
            Response.ContentType = "application/json; charset=utf-8";
            await Response.WriteAsync(body.ToJsonString(JsonStream.Options));
            return;
        }
        await JsonStream.WriteEventAsync(Response, Chunk(chat ? new JsonObject() : JsonValue.Create(""), result.FinishReason));
        if (includeUsage)
        {
            var usage = Head(chat ? "chat.completion.chunk" : "text_completion");
            usage["choices"] = new JsonArray();
            usage["usage"] = Usage(result);
            await JsonStream.WriteEventAsync(Response, usage);
        }
        await JsonStream.WriteDoneAsync(Response);
    }

    public override Task FailAsync(ApiException error) => JsonStream.WriteEventAsync(Response, ApiErrors.Body(Http, error));

    JsonObject Head(string kind) => new() { ["id"] = _id, ["object"] = kind, ["created"] = _created, ["model"] = model };

    /// <summary>One streamed chunk: a chat delta or a piece of text, and the finish reason in the last.</summary>
    JsonObject Chunk(JsonNode? content, string? finishReason)
    {
        var choice = new JsonObject { ["index"] = 0 };
        choice[chat ? "delta" : "text"] = content;
        choice["logprobs"] = null;
        choice["finish_reason"] = finishReason;
        var chunk = Head(chat ? "chat.completion.chunk" : "text_completion");
        chunk["choices"] = new JsonArray(choice);
        return chunk;
    }

    static JsonObject Usage(CompletionResult result) => new()
    {
        ["prompt_tokens"] = result.PromptTokens,
        ["completion_tokens"] = result.CompletionTokens,
        ["total_tokens"] = result.PromptTokens + result.CompletionTokens,
    };
}
