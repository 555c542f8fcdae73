namespace LlmForge.Evaluation.Judge;

/// <summary>The question the judge model is asked about one entry: the book's prompt from chapter 7.</summary>
public static class JudgePrompt
{
    /// <summary>The input with the reference output and the response to score, asking for an integer from 0 to 100 only.</summary>
    public static string For(ResponseEntry entry) =>
        $"Given the input `{AlpacaInput(entry)}` and correct output `{entry.Output}`, " +
        $"score the model response `{entry.ModelResponse}` on a scale from 0 to 100, where 100 is the best score. " +
        "Respond with the integer number only.";

    /// <summary>
    /// The Alpaca prompt the judged model saw (the book's format_input): the preamble, the instruction, and the
    /// input only when there is one. Kept here until the instruction-tuning code's formatter can be shared.
    /// </summary>
    internal static string AlpacaInput(ResponseEntry entry)
    {
        string prompt = "Below is an instruction that describes a task. Write a response that appropriately completes the request."
            + "\n\n### Instruction:\n" + entry.Instruction;
        return entry.Input.Length > 0 ? prompt + "\n\n### Input:\n" + entry.Input : prompt;
    }
}
