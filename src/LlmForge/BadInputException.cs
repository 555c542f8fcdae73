namespace LlmForge;

/// <summary>
/// Input that cannot be used: a missing or malformed file, an option out of range, text a tokenizer
/// cannot handle. The message names what was wrong and what was expected; the command line turns it
/// into one line and exit code 2.
/// </summary>
public class BadInputException(string message) : Exception(message);
