namespace LlmForge.Evaluation.Judge;

/// <summary>
/// The judge could not be asked: the server is unreachable, refused the request, or does not answer in its
/// protocol. Not bad input (the same command can work once the server is up), so the command line exits with 1.
/// </summary>
public sealed class JudgeException(string message) : Exception(message);
