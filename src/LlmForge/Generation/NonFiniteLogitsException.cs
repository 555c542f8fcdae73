namespace LlmForge.Generation;

/// <summary>
/// The model produced NaN or infinite logits, so no token can be chosen: its weights (or the numbers flowing
/// through it) are not finite. A failure while running, not bad input: the command line exits with code 1,
/// and a trainer generating samples can catch it and report a diverged model.
/// </summary>
public sealed class NonFiniteLogitsException(string message) : Exception(message);
