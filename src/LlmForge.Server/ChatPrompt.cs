using System.Text;
using LlmForge.Instruction;
using LlmForge.Text.Chat;

namespace LlmForge.Server;

/// <summary>
/// A conversation as the text a model is given. An instruction model (Alpaca, chapter 7) gets its training
/// format: the system message (or the book's preamble), earlier turns as instruction / response pairs, and the
/// last user message as the instruction, so that one user message gives exactly <c>llmforge respond</c>'s prompt.
/// A model whose tokenizer brings a chat template (Qwen3, Llama 3) gets that template, with the generation prompt.
/// A base model continues the messages' contents, separated by blank lines.
/// </summary>
public static class ChatPrompt
{
    /// <param name="enableThinking">Qwen3's thinking (its template's default is on).</param>
    public static string Format(ServedModel served, IReadOnlyList<ChatMessage> messages, bool enableThinking = true) =>
        IsAlpaca(served) ? Alpaca(messages)
        : served.ChatTemplateFor(enableThinking) is { } template ? template.Render(messages)
        : string.Join("\n\n", messages.Select(m => m.Content));

    /// <summary>Whether the model was tuned on Alpaca prompts (its answer's own <c>### Response:</c> line is dropped).</summary>
    public static bool IsAlpaca(ServedModel served) => served.Network.PromptFormat == "alpaca";

    /// <summary>Qwen3's thinking switch as clients send it: vLLM's <c>chat_template_kwargs.enable_thinking</c> or Ollama's <c>think</c>.</summary>
    public static bool EnableThinking(RequestBody body) =>
        body.Bool("think") ?? body.Object("chat_template_kwargs")?.Bool("enable_thinking") ?? true;

    static string Alpaca(IReadOnlyList<ChatMessage> messages)
    {
        if (messages[^1].Role != "user")
            throw ApiException.BadParameter("messages", $"the last message must be the user's (the instruction to answer), got {messages[^1].Role}");
        var system = messages.Where(m => m.Role == "system").Select(m => m.Content).ToList();
        var text = new StringBuilder(system.Count > 0 ? string.Join("\n\n", system) : AlpacaPrompt.Preamble);
        foreach (var message in messages.Where(m => m.Role != "system"))
            text.Append(message.Role == "user" ? AlpacaPrompt.InstructionHeader : AlpacaPrompt.ResponseHeader).Append(message.Content);
        return text.ToString();
    }

    /// <summary>OpenAI's or Ollama's <c>messages</c>: a non-empty array of {role, content}; content may be text parts.</summary>
    public static IReadOnlyList<ChatMessage> Read(RequestBody body)
    {
        if (body["messages"] is not JsonArray array)
            throw ApiException.BadParameter("messages", $"expected an array of {{role, content}} messages, got {RequestBody.Describe(body["messages"])}");
        if (array.Count == 0) throw ApiException.BadParameter("messages", "is empty: give at least one message");
        var messages = new List<ChatMessage>();
        for (int i = 0; i < array.Count; i++)
        {
            string param = $"messages[{i}]";
            if (array[i] is not JsonObject item) throw ApiException.BadParameter(param, $"expected an object, got {RequestBody.Describe(array[i])}");
            var message = new RequestBody(item);
            string role = message.String("role") ?? throw ApiException.BadParameter(param + ".role", "is missing");
            if (role is not ("system" or "user" or "assistant" or "developer"))
                throw ApiException.BadParameter(param + ".role", $"expected system, user or assistant, got \"{role}\"");
            messages.Add(new ChatMessage(role == "developer" ? "system" : role, Content(message["content"], param + ".content")));
        }
        return messages;
    }

    /// <summary>A string, or OpenAI's array of parts of which only text parts can be read.</summary>
    static string Content(JsonNode? content, string param) => content switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select((part, i) =>
            part is JsonObject o && o["type"]?.GetValue<string>() == "text" && o["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String
                ? t.GetValue<string>()
                : throw ApiException.BadParameter($"{param}[{i}]", "only text parts ({\"type\": \"text\", \"text\": ...}) can be read"))),
        _ => throw ApiException.BadParameter(param, $"expected a string, got {RequestBody.Describe(content)}"),
    };
}
