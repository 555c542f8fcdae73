namespace LlmForge.Preference;

/// <summary>
/// The Alpaca prompt of the book's chapter 7 (<c>format_input</c>), byte for byte, and the response
/// header that follows it. A stand-in until the instruction-tuning code's formatter is shared.
/// </summary>
internal static class PreferencePrompt
{
    const string Preamble = "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

    /// <summary>What comes between the prompt and a response in a training text.</summary>
    public const string ResponseHeader = "\n\n### Response:\n";

    /// <summary>The prompt: preamble, instruction, and the input only when it is not empty.</summary>
    public static string Format(string instruction, string input) =>
        Preamble + "\n\n### Instruction:\n" + instruction + (input.Length > 0 ? "\n\n### Input:\n" + input : "");
}
