namespace LlmForge.Training;

/// <summary>How a call to <see cref="ITrainer.Run"/> ended.</summary>
public enum TrainingOutcome { Completed, Interrupted, LossNotFinite }
