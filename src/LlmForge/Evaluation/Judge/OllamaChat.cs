using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Evaluation.Judge;

/// <summary>Ollama's <c>POST /api/chat</c>, answered in one piece.</summary>
static class OllamaChat
{
    /// <summary>One user message; sampling fixed by temperature 0 and the seed, as the book asks Ollama.</summary>
    public static JsonObject Request(string model, string prompt, int seed) => new()
    {
        ["model"] = model,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        ["stream"] = false, // one JSON object instead of a line per token
        ["options"] = new JsonObject { ["temperature"] = 0, ["seed"] = seed },
    };

    /// <summary>The reply's <c>message.content</c>; false when the reply does not have that shape.</summary>
    public static bool TryReadAnswer(JsonElement reply, out string? answer)
    {
        answer = null;
        if (reply.ValueKind != JsonValueKind.Object
            || !reply.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object
            || !message.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
            return false;
        answer = content.GetString();
        return true;
    }
}
