namespace LlmForge.Evaluation.Judge;

/// <summary>The question the judge model is asked about one entry: the book's prompt from chapter 7.</summary>
public static class JudgePrompt
{
    /// <summary>The input with the reference output and the response to score, asking for an integer from 0 to 100 only.</summary>
    public static string For(ResponseEntry entry) =>
        $"Given the input `{AlpacaInput(entry)}` and correct output `{entry.Output}`, " +
        $"score the model response `{entry.ModelResponse}` on a scale from 0 to 100, where 100 is the best score. " +
        "Respond with the integer number only.";

    /// <summary>The Alpaca prompt the judged model saw (the book's <c>format_input</c>).</summary>
    internal static string AlpacaInput(ResponseEntry entry) => Instruction.AlpacaPrompt.Format(entry.Instruction, entry.Input);
}
