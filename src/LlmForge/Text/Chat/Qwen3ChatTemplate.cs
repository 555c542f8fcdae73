using System.Text;

namespace LlmForge.Text.Chat;

/// <summary>
/// Qwen3's ChatML format, as its tokenizer_config.json template renders a conversation without tools:
/// each turn is <c>&lt;|im_start|&gt;role\n...&lt;|im_end|&gt;\n</c>; the prompt is <c>&lt;|im_start|&gt;assistant\n</c>,
/// followed by an empty <c>&lt;think&gt;\n\n&lt;/think&gt;\n\n</c> when thinking is off. An assistant turn's
/// reasoning (<c>&lt;think&gt;...&lt;/think&gt;</c> in its text) is kept only after the last user question;
/// earlier answers are rendered without it. Tool results (role <c>tool</c>) go into a user turn between
/// <c>&lt;tool_response&gt;</c> tags.
/// </summary>
public sealed class Qwen3ChatTemplate(bool enableThinking = true) : ChatTemplate
{
    public override string Name => "qwen3";

    public override string EndOfTurn => "<|im_end|>";

    public bool EnableThinking => enableThinking;

    public override string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        Check(messages, Name, "system", "user", "assistant", "tool");
        var text = new StringBuilder();
        if (messages[0].Role == "system") text.Append("<|im_start|>system\n").Append(messages[0].Content).Append("<|im_end|>\n");

        // The last question asked by the user (not a tool's answer passed back as a user turn).
        int lastQuery = messages.Count - 1;
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            string content = messages[i].Content;
            if (messages[i].Role == "user" && !(content.StartsWith("<tool_response>", StringComparison.Ordinal) && content.EndsWith("</tool_response>", StringComparison.Ordinal)))
            {
                lastQuery = i;
                break;
            }
        }

        for (int i = 0; i < messages.Count; i++)
        {
            var (role, content) = (messages[i].Role, messages[i].Content);
            if (role == "user" || (role == "system" && i > 0))
            {
                text.Append("<|im_start|>").Append(role).Append('\n').Append(content).Append("<|im_end|>\n");
            }
            else if (role == "assistant")
            {
                string reasoning = "";
                if (content.Contains("</think>", StringComparison.Ordinal))
                {
                    string[] parts = content.Split("</think>");
                    reasoning = parts[0].TrimEnd('\n').Split("<think>")[^1].TrimStart('\n');
                    content = parts[^1].TrimStart('\n');
                }
                text.Append("<|im_start|>assistant\n");
                if (i > lastQuery && (i == messages.Count - 1 || reasoning.Length > 0))
                    text.Append("<think>\n").Append(reasoning.Trim('\n')).Append("\n</think>\n\n").Append(content.TrimStart('\n'));
                else
                    text.Append(content);
                text.Append("<|im_end|>\n");
            }
            else if (role == "tool")
            {
                if (i == 0 || messages[i - 1].Role != "tool") text.Append("<|im_start|>user");
                text.Append("\n<tool_response>\n").Append(content).Append("\n</tool_response>");
                if (i == messages.Count - 1 || messages[i + 1].Role != "tool") text.Append("<|im_end|>\n");
            }
        }
        if (addGenerationPrompt)
        {
            text.Append("<|im_start|>assistant\n");
            if (!enableThinking) text.Append("<think>\n\n</think>\n\n");
        }
        return text.ToString();
    }
}
