using System.Text;

namespace LlmForge.Instruction;

/// <summary>
/// The Alpaca prompt format of the book's chapter 7 (<c>format_input</c>), byte for byte, and how a
/// response is taken back out of generated text.
/// </summary>
public static class AlpacaPrompt
{
    public const string Preamble =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

    public const string InstructionHeader = "\n\n### Instruction:\n";

    public const string InputHeader = "\n\n### Input:\n";

    public const string ResponseHeader = "\n\n### Response:\n";

    /// <summary>The marker the book removes from a generated response.</summary>
    public const string ResponseMarker = "### Response:";

    /// <summary>The book's <c>format_input</c>: preamble and instruction, and the input only when it is not empty.</summary>
    public static string Format(string instruction, string input) =>
        Preamble + InstructionHeader + instruction + (input.Length > 0 ? InputHeader + input : "");

    public static string Format(InstructionEntry entry) => Format(entry.Instruction, entry.Input);

    /// <summary>What a model is trained on: the prompt, the response header and the expected output, as one text.</summary>
    public static string TrainingText(InstructionEntry entry) => Format(entry) + ResponseHeader + entry.Output;

    /// <summary>
    /// The book's <c>generated_text[len(input_text):].replace("### Response:", "").strip()</c>: the text after
    /// the prompt, without the response marker and surrounding white space. The prompt's length is counted in
    /// characters (code points) as Python counts it.
    /// </summary>
    public static string ExtractResponse(string generatedText, string promptText)
    {
        int skip = promptText.EnumerateRunes().Count(), at = 0;
        foreach (var rune in generatedText.EnumerateRunes())
        {
            if (skip-- == 0) break;
            at += rune.Utf16SequenceLength;
        }
        return CleanResponse(generatedText[at..]);
    }

    /// <summary>The continuation alone (the text generated after the prompt), cleaned as <see cref="ExtractResponse"/> does.</summary>
    public static string CleanResponse(string continuation) =>
        PythonStrip(continuation.Replace(ResponseMarker, "", StringComparison.Ordinal));

    /// <summary>Python's <c>str.strip()</c>: .NET's white space plus the four separator controls (U+001C..U+001F) Python also strips.</summary>
    static string PythonStrip(string text)
    {
        static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';
        int start = 0, end = text.Length;
        while (start < end && IsSpace(text[start])) start++;
        while (end > start && IsSpace(text[end - 1])) end--;
        return text[start..end];
    }
}
