using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmForge.Evaluation.Judge;

/// <summary>OpenAI's <c>POST /v1/chat/completions</c>, without streaming.</summary>
static class OpenAIChat
{
    /// <summary>One user message; temperature 0 and the seed make the judge as repeatable as the server allows.</summary>
    public static JsonObject Request(string model, string prompt, int seed) => new()
    {
        ["model"] = model,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        ["temperature"] = 0,
        ["seed"] = seed,
    };

    /// <summary>
    /// The first choice's <c>message.content</c>; false when the reply does not have that shape. A null content
    /// (a refusal, say) is a well-formed reply without an answer.
    /// </summary>
    public static bool TryReadAnswer(JsonElement reply, out string? answer)
    {
        answer = null;
        if (reply.ValueKind != JsonValueKind.Object
            || !reply.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0
            || choices[0].ValueKind != JsonValueKind.Object
            || !choices[0].TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object
            || !message.TryGetProperty("content", out var content))
            return false;
        if (content.ValueKind == JsonValueKind.Null) return true;
        if (content.ValueKind != JsonValueKind.String) return false;
        answer = content.GetString();
        return true;
    }
}
