namespace LlmForge.Text.Chat;

/// <summary>
/// Turns a conversation into the text a chat model was trained on, with the prompt for its next answer:
/// what <c>apply_chat_template(messages, add_generation_prompt=True)</c> renders in transformers from the Jinja
/// template of tokenizer_config.json. The templates are not interpreted; the families' formats are written
/// out (<see cref="Qwen3ChatTemplate"/>, <see cref="Llama3ChatTemplate"/>) and the tests hold them to what the
/// real templates render. Special tokens appear as their text (<c>&lt;|im_start|&gt;</c>), which the tokenizer
/// then turns into their ids.
/// </summary>
public abstract class ChatTemplate
{
    /// <summary>A short name for reports: "qwen3", "llama3", "llama3.2".</summary>
    public abstract string Name { get; }

    /// <summary>The token that ends a turn (<c>&lt;|im_end|&gt;</c>, <c>&lt;|eot_id|&gt;</c>): generation of an answer stops there.</summary>
    public abstract string EndOfTurn { get; }

    /// <summary>The conversation as text; with <paramref name="addGenerationPrompt"/>, followed by the opening of the assistant's answer.</summary>
    /// <exception cref="BadInputException">no messages, or a role the format has no place for.</exception>
    public abstract string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true);

    /// <summary>
    /// The format of <paramref name="tokenizer"/>'s model: recognized from its Jinja template (tokenizer_config.json
    /// or chat_template.jinja), or, when it has none (a base model), from its special tokens. Null when neither is one
    /// of the formats above.
    /// </summary>
    /// <param name="enableThinking">Qwen3: false renders an empty thinking block after the prompt, as <c>enable_thinking=False</c> does.</param>
    /// <param name="date">Llama 3.1/3.2: the "Today Date" of the system header, such as "26 Jul 2024"; null for the template's default (today, or 26 Jul 2024 in Llama 3.1's).</param>
    public static ChatTemplate? For(HfBpeTokenizer tokenizer, bool enableThinking = true, string? date = null) =>
        Detect(tokenizer.ChatTemplateSource, tokenizer.SpecialTokens.Select(s => s.Text), enableThinking, date);

    /// <summary>The format a Jinja <paramref name="source"/> writes; without one, the one the <paramref name="specialTokens"/> belong to.</summary>
    public static ChatTemplate? Detect(string? source, IEnumerable<string> specialTokens, bool enableThinking = true, string? date = null)
    {
        if (source != null)
        {
            if (source.Contains("<|im_start|>") && source.Contains("<think>")) return new Qwen3ChatTemplate(enableThinking);
            if (source.Contains("<|start_header_id|>"))
            {
                if (!source.Contains("Cutting Knowledge Date")) return new Llama3ChatTemplate(Llama3ChatTemplate.Variant.Llama3, null);
                // Llama 3.2's template dates the header today (strftime_now); Llama 3.1's always says 26 Jul 2024.
                return new Llama3ChatTemplate(Llama3ChatTemplate.Variant.Llama31, date ?? (source.Contains("strftime_now") ? null : Llama3ChatTemplate.DefaultDate));
            }
            return null;
        }
        var tokens = specialTokens.ToHashSet();
        if (tokens.Contains("<|im_start|>") && tokens.Contains("<think>")) return new Qwen3ChatTemplate(enableThinking);
        if (tokens.Contains("<|start_header_id|>")) return new Llama3ChatTemplate(Llama3ChatTemplate.Variant.Llama31, date);
        return null;
    }

    /// <summary>Refuses an empty conversation and roles outside <paramref name="roles"/>, naming the message.</summary>
    protected static void Check(IReadOnlyList<ChatMessage> messages, string name, params string[] roles)
    {
        if (messages.Count == 0) throw new BadInputException($"a {name} chat needs at least one message");
        for (int i = 0; i < messages.Count; i++)
            if (!roles.Contains(messages[i].Role))
                throw new BadInputException($"chat message {i + 1}: role '{messages[i].Role}' has no place in the {name} format (expected {string.Join(", ", roles)})");
    }
}
