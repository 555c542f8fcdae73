namespace LlmForge.Training;

/// <summary>What the trainer reports after each optimiser step, for progress displays.</summary>
/// <param name="Loss">the loss of this step's batches (not the evaluation's average over several batches).</param>
/// <param name="TokensPerSecond">what the batch losses count (tokens, or a classifier's examples; see <paramref name="Unit"/>) per second.</param>
/// <param name="Remaining">the time left, estimated from recent steps; null during the first steps.</param>
/// <param name="Unit">what <paramref name="TokensPerSecond"/> counts: <c>tokens</c>, <c>examples</c>, <c>pairs</c> (the evaluator's <see cref="IEvaluator.SeenKey"/>).</param>
public sealed record TrainingProgress(long Step, long TotalSteps, int Epoch, double Loss, double TokensPerSecond, TimeSpan? Remaining, double? ValLoss, string Unit = "tokens");
