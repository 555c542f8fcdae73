namespace LlmForge.Server;

/// <summary>
/// Ollama's answers to <c>/api/generate</c> (<c>response</c>) and <c>/api/chat</c> (<c>message</c>): one line of
/// JSON per piece and a last line with <c>done: true</c> and the counts, or that last object alone with the whole text.
/// </summary>
public sealed class OllamaWriter(HttpContext http, bool stream, bool chat, string model, bool trimEnd) : CompletionWriter(http, stream)
{
    public override Task StartAsync()
    {
        if (Stream) JsonStream.StartLines(Response);
        return Task.CompletedTask;
    }

    public override Task PieceAsync(string text)
    {
        if (!Stream)
        {
            Text.Append(text);
            return Task.CompletedTask;
        }
        var line = Line(text);
        line["done"] = false;
        return JsonStream.WriteLineAsync(Response, line);
    }

    public override async Task EndAsync(CompletionResult result)
    {
        string text = Stream ? "" : trimEnd ? Text.ToString().TrimEnd() : Text.ToString();
        var line = Line(text);
        long nanoseconds = result.Duration.Ticks * 100;
        line["done"] = true;
        line["done_reason"] = result.FinishReason;
        line["total_duration"] = nanoseconds;
        line["load_duration"] = 0;
        line["prompt_eval_count"] = result.PromptTokens;
        line["eval_count"] = result.CompletionTokens;
        line["eval_duration"] = nanoseconds;
        if (Stream) await JsonStream.WriteLineAsync(Response, line);
        else
        {
            Response.ContentType = "application/json; charset=utf-8";
            await Response.WriteAsync(line.ToJsonString(JsonStream.Options));
        }
    }

    public override Task FailAsync(ApiException error) => JsonStream.WriteLineAsync(Response, ApiErrors.Body(Http, error));

    JsonObject Line(string text)
    {
        var line = new JsonObject { ["model"] = model, ["created_at"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ") };
        if (chat) line["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text };
        else line["response"] = text;
        return line;
    }
}
