namespace LlmForge.Training;

/// <summary>A trainer as its callers see it, whatever its batches are: run it, watch it, stop it.</summary>
public interface ITrainer : IDisposable
{
    long Step { get; }

    long TotalSteps { get; }

    ILanguageModel Model { get; }

    /// <summary>The options the run trains with (paths made absolute).</summary>
    TrainingOptions Options { get; }

    /// <summary>Parameters the optimiser updates (all of them unless some are frozen).</summary>
    long TrainableParameters { get; }

    /// <summary>A note for the user about how the run was set up (a replaced run, a restart), or null.</summary>
    string? Notice { get; }

    /// <summary>Called after every optimiser step.</summary>
    Action<TrainingProgress>? Progress { get; set; }

    /// <summary>Called with one-line notes (evaluations, checkpoints).</summary>
    Action<string>? Log { get; set; }

    string RunDirectory { get; }

    string MetricsPath { get; }

    string PlotPath { get; }

    /// <summary>Trains until the last step, or until <paramref name="stop"/> (then saves a checkpoint first).</summary>
    TrainingOutcome Run(CancellationToken stop = default);
}
