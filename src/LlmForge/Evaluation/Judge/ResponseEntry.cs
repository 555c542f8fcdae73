namespace LlmForge.Evaluation.Judge;

/// <summary>
/// One entry of a responses file (the book's <c>instruction-data-with-response.json</c>): the instruction, its
/// optional input, the reference output and the response of the model being judged.
/// </summary>
public sealed record ResponseEntry(string Instruction, string Input, string Output, string ModelResponse);
