namespace LlmForge.Instruction;

/// <summary>
/// One example of an Alpaca-style instruction file (the book's <c>instruction-data.json</c>): the task, an
/// optional input it works on (empty when there is none), and the answer the model should learn to give.
/// </summary>
public sealed record InstructionEntry(string Instruction, string Input, string Output)
{
    /// <summary>
    /// The entry from one object of a file: <c>instruction</c> and <c>output</c> strings are required,
    /// <c>input</c> may be missing or null (no input); other fields (such as <c>chosen</c>, <c>rejected</c>) are ignored.
    /// </summary>
    public static InstructionEntry From(JsonEntry entry) =>
        new(entry.Required("instruction"), entry.Optional("input"), entry.Required("output"));
}
